//! Every operation of every vendor crate, called with distinctive secrets in every
//! credential and secret input: the table the leak, malformed-answer and fuzz tests
//! run over.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use api_tokens_runtime::Error;

pub const FASTLY_KEY: &str = "FastlyKey-q7Wm2xR9vL4t";
pub const FASTLY_PASSWORD: &str = "FastlyPass-Zp3Kd8Yh1Nc6";
pub const FASTLY_OTP: &str = "735921";
pub const FORM_PASSWORD: &str = "FormPass-Jx5Rb2Tq8Wv3";
pub const ICA_API_KEY: &str = "IcaApiKey-Hn4Vc7Bm2Qs9";
pub const ICA_PASSWORD: &str = "IcaPass-Ty6Ug3Ie8Oa1";
pub const ICA_PS_TOKEN: &str = "IcaPsToken-Lw2Ek5Rj9Xz4";
pub const ICA_JWT: &str = "eyJhbGciOiJIUzI1NiJ9.IcaJwt-Mf8Dn3Sp6Cb1";
pub const TG_SECRET: &str = "TgSecret-Vb9Nm4Kl7Hg2";
pub const TG_PASSWORD: &str = "TgPass-Aq1Sw6De3Fr8";
pub const TG_TOKEN: &str = "tgtoken-pz5ox8iu2yt7re4w";
pub const INSIGHT_TOKEN: &str = "insight0token1c9d1a9dd3ec6fa0f41";
pub const INSIGHT_COOKIE: &str = "PLAY_SESSION=InsightCookie-Gy7Hu2Ji5Ko9";
pub const INSIGHT_PASSWORD: &str = "InsightPass-Xc3Vb8Nm1Lk6";
pub const INSIGHT_OAUTH: &str = "gho_InsightOauth-Wq2Er5Ty8";
pub const DOCLUSTER_TOKEN: &str = "DOCLUSTERTOKENQWERTYUIOPASDFGHJKL";
pub const DOCLUSTER_PASSWORD: &str = "DoclusterPass-Re4Ty7Ui2Op5";
/// A secret the servers mint and return in success bodies.
pub const MINTED: &str = "MintedToken-Gk4Ls9Pd2Fw7";

/// The plain-text secrets, with the user names of Basic pairs for their encoded form.
pub fn secrets() -> Vec<String> {
    let mut all: Vec<String> = [
        FASTLY_KEY,
        FASTLY_PASSWORD,
        FASTLY_OTP,
        FORM_PASSWORD,
        ICA_API_KEY,
        ICA_PASSWORD,
        ICA_PS_TOKEN,
        ICA_JWT,
        TG_SECRET,
        TG_PASSWORD,
        TG_TOKEN,
        INSIGHT_TOKEN,
        INSIGHT_COOKIE,
        INSIGHT_PASSWORD,
        INSIGHT_OAUTH,
        DOCLUSTER_TOKEN,
        DOCLUSTER_PASSWORD,
        MINTED,
    ]
    .map(str::to_owned)
    .to_vec();
    for (user, password) in [
        ("me@example.com", FASTLY_PASSWORD),
        ("me@example.com", ICA_PASSWORD),
        ("tigergraph", TG_PASSWORD),
    ] {
        // The encoded header, from the first character that carries password bits:
        // pieces of it that encode only the (public) user name are no secret.
        let basic = crate::basic(user, password);
        let encoded = basic.trim_start_matches("Basic ");
        all.push(encoded[(user.len() + 1) * 8 / 6..].to_owned());
    }
    all
}

/// What a call gives back: the result (its `Ok` value printed with `Debug`) and the
/// `Debug` of the client and the request builder used.
pub struct Outcome {
    pub result: Result<String, Error>,
    pub debug: String,
}

/// Where a call goes: a server, or an in-process responder.
#[derive(Clone)]
pub enum Target {
    Url(String),
    Respond(api_tokens_runtime::Responder),
}

impl From<&str> for Target {
    fn from(url: &str) -> Self {
        Target::Url(url.to_owned())
    }
}

type Run = fn(Target, Duration, Arg) -> Pin<Box<dyn Future<Output = Outcome> + Send>>;

/// One argument of a call replaced by another value: how the argument tests reach every
/// path and required query parameter of every operation.
#[derive(Clone, Debug, Default)]
pub struct Arg {
    name: &'static str,
    value: String,
}

impl Arg {
    /// `value` for the parameter `name`.
    pub fn new(name: &'static str, value: impl Into<String>) -> Self {
        Arg {
            name,
            value: value.into(),
        }
    }

    /// The value of parameter `name`: the replacement, or the call's usual `value`.
    pub fn or(&self, name: &str, value: &str) -> String {
        if self.name == name {
            self.value.clone()
        } else {
            value.to_owned()
        }
    }
}

/// One HTTP client for every in-process call: building one loads the TLS roots, which
/// would dominate a fuzz run.
fn shared_client() -> reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| api_tokens_runtime::http_client_builder().build().expect("client"))
        .clone()
}

/// Points a vendor's `ClientBuilder` at a target.
macro_rules! aim {
    ($builder:expr, $target:expr) => {
        match $target {
            Target::Url(url) => $builder.base_url(url),
            Target::Respond(respond) => $builder
                .base_url("http://responder.invalid")
                .http_client(shared_client())
                .max_retries(0)
                .respond_with(move |r| respond(r)),
        }
    };
}

/// One operation.
pub struct Call {
    pub vendor: &'static str,
    pub op: &'static str,
    /// A documented success answer, with [`MINTED`] wherever a secret comes back.
    pub success: fn() -> (u16, String),
    /// Whether the success answer has a body to decode.
    pub has_body: bool,
    run: Run,
}

impl Call {
    /// Runs the call with its usual arguments.
    pub fn run(&self, target: Target, timeout: Duration) -> Pin<Box<dyn Future<Output = Outcome> + Send>> {
        (self.run)(target, timeout, Arg::default())
    }

    /// Runs the call with one argument replaced.
    pub fn run_with(
        &self,
        target: Target,
        timeout: Duration,
        arg: Arg,
    ) -> Pin<Box<dyn Future<Output = Outcome> + Send>> {
        (self.run)(target, timeout, arg)
    }
}

macro_rules! call {
    ($vendor:literal, $op:literal, $has_body:expr, $success:expr, $client:ident, |$c:ident| $request:expr) => {
        call!($vendor, $op, $has_body, $success, $client, |$c, _arg| $request)
    };
    ($vendor:literal, $op:literal, $has_body:expr, $success:expr, $client:ident, |$c:ident, $arg:ident| $request:expr) => {
        Call {
            vendor: $vendor,
            op: $op,
            has_body: $has_body,
            success: $success,
            run: |target, timeout, $arg| {
                Box::pin(async move {
                    let $c = $client(target, timeout);
                    let request = $request;
                    let debug = format!("{:?} {request:?}", $c);
                    outcome(request.send().await, debug)
                })
            },
        }
    };
}

/// `Debug` of the vendor body an error keeps, whichever documented type it is.
pub fn vendor_body_debug(error: &Error) -> Option<String> {
    macro_rules! any_of {
        ($($ty:ty),* $(,)?) => {
            None $(.or_else(|| error.vendor_body::<$ty>().map(|b| format!("{b:?} {b:#?}"))))*
        };
    }
    any_of!(
        fastly_tokens::types::ErrorBody,
        ica_tokens::types::Problem,
        tigergraph_tokens::types::RestppTokenResponse,
        tigergraph_tokens::types::GsqlResponse,
        tigergraph_tokens::types::CheckJwtResponse,
        insight_tokens::types::ErrorBody,
        docluster_tokens::types::LoginAnswer,
        docluster_tokens::types::LogoutAnswer,
        docluster_tokens::types::TokensAnswer,
    )
}

fn outcome<T: std::fmt::Debug>(result: Result<progenitor_client::ResponseValue<T>, Error>, debug: String) -> Outcome {
    Outcome {
        result: result.map(|v| format!("{v:?} {:?}", v.status())),
        debug,
    }
}

fn json(status: u16, value: serde_json::Value) -> (u16, String) {
    (status, value.to_string())
}

fn fastly(base: Target, timeout: Duration) -> fastly_tokens::Client {
    aim!(fastly_tokens::Client::builder(), base)
        .timeout(timeout)
        .token(FASTLY_KEY)
        .username_and_password("me@example.com", FASTLY_PASSWORD)
        .otp(FASTLY_OTP)
        .build()
        .expect("client")
}

/// Fastly's other 2FA flow: the login typed into the form, the one-time code as a
/// credential.
fn fastly_form_login(base: Target, timeout: Duration) -> fastly_tokens::Client {
    aim!(fastly_tokens::Client::builder(), base)
        .timeout(timeout)
        .token(FASTLY_KEY)
        .otp(FASTLY_OTP)
        .build()
        .expect("client")
}

fn ica(base: Target, timeout: Duration) -> ica_tokens::Client {
    aim!(ica_tokens::Client::builder(), base)
        .timeout(timeout)
        .api_key(ICA_API_KEY)
        .basic("me@example.com", ICA_PASSWORD)
        .ps_token(ICA_PS_TOKEN)
        .jwt(ICA_JWT)
        .build()
        .expect("client")
}

fn tigergraph(base: Target, timeout: Duration) -> tigergraph_tokens::Client {
    aim!(tigergraph_tokens::Client::builder(), base)
        .timeout(timeout)
        .secret(TG_SECRET)
        .basic("tigergraph", TG_PASSWORD)
        .build()
        .expect("client")
}

fn insight(base: Target, timeout: Duration) -> insight_tokens::Client {
    aim!(insight_tokens::Client::builder(), base)
        .timeout(timeout)
        .api_token(INSIGHT_TOKEN)
        .session_cookie(INSIGHT_COOKIE)
        .build()
        .expect("client")
}

fn docluster(base: Target, timeout: Duration) -> docluster_tokens::Client {
    aim!(docluster_tokens::Client::builder(), base)
        .timeout(timeout)
        .access_token(DOCLUSTER_TOKEN)
        .build()
        .expect("client")
}

fn fastly_token() -> (u16, String) {
    json(200, serde_json::json!({"id": "t1", "scope": "global", "services": []}))
}

fn restpp() -> (u16, String) {
    json(
        200,
        serde_json::json!({"code": "REST-0000", "error": false, "message": "ok", "expiration": 1616042814, "token": MINTED}),
    )
}

fn gsql() -> (u16, String) {
    json(
        200,
        serde_json::json!({"error": false, "message": "ok", "expiration": "Wed Jul 10 06:12:47 UTC 2024", "token": MINTED}),
    )
}

fn insight_list() -> (u16, String) {
    json(
        200,
        serde_json::json!([{"uid": "ldap@u", "apiToken": MINTED, "created": 1496357580959i64, "lastUsed": null}]),
    )
}

fn no_body_204() -> (u16, String) {
    (204, String::new())
}

fn no_body_200() -> (u16, String) {
    (200, String::new())
}

pub fn all() -> Vec<Call> {
    vec![
        call!(
            "fastly",
            "create_token",
            true,
            || json(200, serde_json::json!({"id": "t1", "access_token": MINTED})),
            fastly_form_login,
            |client| {
                let form = fastly_tokens::TokenCreateForm::new()
                    .login("me@example.com", FORM_PASSWORD)
                    .service("s1")
                    .service("s2");
                client.create_token().body(form)
            }
        ),
        call!("fastly", "get_token", true, fastly_token, fastly, |client, arg| client
            .get_token()
            .token_id(arg.or("token_id", "t1"))),
        call!("fastly", "get_token_current", true, fastly_token, fastly, |client| {
            client.get_token_current()
        }),
        call!(
            "fastly",
            "list_tokens_user",
            true,
            || json(200, serde_json::json!([{"id": "t1"}])),
            fastly,
            |client| client.list_tokens_user()
        ),
        call!(
            "fastly",
            "list_tokens_customer",
            true,
            || json(200, serde_json::json!([{"id": "t1"}])),
            fastly,
            |client, arg| client.list_tokens_customer().customer_id(arg.or("customer_id", "c1"))
        ),
        call!("fastly", "revoke_token", false, no_body_204, fastly, |client, arg| {
            client.revoke_token().token_id(arg.or("token_id", "t1"))
        }),
        call!("fastly", "revoke_token_current", false, no_body_204, fastly, |client| {
            client.revoke_token_current()
        }),
        call!("fastly", "bulk_revoke_tokens", false, no_body_204, fastly, |client| {
            let body = fastly_tokens::types::BulkRevokeRequest {
                data: vec![fastly_tokens::types::TokenIdentifier {
                    id: "t1".into(),
                    type_: fastly_tokens::types::TokenResourceType::Token,
                }],
            };
            client.bulk_revoke_tokens().body(body)
        }),
        call!(
            "ica",
            "create_jwt_token",
            true,
            || json(200, serde_json::json!({"token": MINTED})),
            ica,
            |client| client.create_jwt_token().tenant("t")
        ),
        call!(
            "ica",
            "refresh_jwt_token",
            true,
            || json(200, serde_json::json!({"token": MINTED})),
            ica,
            |client| client.refresh_jwt_token()
        ),
        call!(
            "tigergraph",
            "request_token_query",
            true,
            restpp,
            tigergraph,
            |client| client.request_token_query().lifetime(100u64)
        ),
        call!(
            "tigergraph",
            "refresh_token_query",
            true,
            restpp,
            tigergraph,
            |client, arg| client
                .refresh_token_query()
                .token(arg.or("token", TG_TOKEN))
                .lifetime(100u64)
        ),
        call!(
            "tigergraph",
            "delete_token_query",
            true,
            restpp,
            tigergraph,
            |client, arg| { client.delete_token_query().token(arg.or("token", TG_TOKEN)) }
        ),
        call!("tigergraph", "request_token_raw", true, restpp, tigergraph, |client| {
            client.request_token_raw().lifetime(100u64)
        }),
        call!("tigergraph", "request_token", true, restpp, tigergraph, |client| client
            .request_token()
            .body_map(|b| b.graph("g".to_owned()))),
        call!("tigergraph", "refresh_token", true, restpp, tigergraph, |client| client
            .refresh_token()
            .body_map(|b| b.token(TG_TOKEN).lifetime(tigergraph_tokens::Seconds(100)))),
        call!("tigergraph", "delete_token", true, restpp, tigergraph, |client| client
            .delete_token()
            .body_map(|b| b.token(TG_TOKEN))),
        call!("tigergraph", "create_jwt", true, gsql, tigergraph, |client| client
            .create_jwt()
            .body_map(|b| b.lifetime(tigergraph_tokens::Milliseconds(1000)))),
        call!("tigergraph", "drop_jwts", true, gsql, tigergraph, |client| {
            let tokens: tigergraph_tokens::TokenList = [TG_TOKEN, ICA_JWT].into_iter().collect();
            client.drop_jwts().body_map(|b| b.tokens(tokens))
        }),
        call!(
            "tigergraph",
            "check_jwt",
            true,
            || json(
                200,
                serde_json::json!({"error": false, "message": format!("The token {TG_TOKEN} verification succeed.")})
            ),
            tigergraph,
            |client| client.check_jwt().body_map(|b| b.token(TG_TOKEN))
        ),
        call!(
            "insight",
            "create_api_token",
            true,
            || json(200, serde_json::json!({"token": MINTED})),
            insight,
            |client| client.create_api_token()
        ),
        call!("insight", "get_api_tokens", true, insight_list, insight, |client| {
            client.get_api_tokens()
        }),
        call!("insight", "revoke_api_token", false, no_body_200, insight, |client| {
            client.revoke_api_token()
        }),
        call!(
            "insight",
            "create_token",
            true,
            || json(200, serde_json::json!({"token": MINTED})),
            insight,
            |client| client.create_token()
        ),
        call!("insight", "list_tokens", true, insight_list, insight, |client| client
            .list_tokens()),
        call!("insight", "delete_token", false, no_body_200, insight, |client| client
            .delete_token()),
        call!(
            "insight",
            "authenticate_userpass",
            true,
            || json(
                200,
                serde_json::json!({"token": MINTED, "expiresOn": "2030-01-01T00:00:00Z"})
            ),
            insight,
            |client| client
                .authenticate_userpass()
                .body_map(|b| b.username("admin").password(INSIGHT_PASSWORD))
        ),
        call!(
            "insight",
            "authenticate_ldap",
            true,
            || json(
                200,
                serde_json::json!({"token": MINTED, "expiresOn": "2030-01-01T00:00:00Z"})
            ),
            insight,
            |client| client
                .authenticate_ldap()
                .body_map(|b| b.username("admin").password(INSIGHT_PASSWORD))
        ),
        call!(
            "insight",
            "authenticate_provider",
            true,
            || json(200, serde_json::json!({"token": MINTED})),
            insight,
            |client, arg| client
                .authenticate_provider()
                .provider(arg.or("provider", "github"))
                .body_map(|b| b.email("me@example.com").info(insight_tokens::types::ProviderInfo {
                    access_token: INSIGHT_OAUTH.into()
                }))
        ),
        call!(
            "docluster",
            "login",
            true,
            || json(
                200,
                serde_json::json!({"msg": {"access_token": MINTED}, "status": "success", "error": ""})
            ),
            docluster,
            |client| client
                .login()
                .body_map(|b| b.username("admin").password(DOCLUSTER_PASSWORD))
        ),
        call!(
            "docluster",
            "check_token",
            true,
            || json(200, serde_json::json!({"msg": {}, "status": "success", "error": ""})),
            docluster,
            |client| client.check_token()
        ),
        call!(
            "docluster",
            "logout",
            true,
            || json(200, serde_json::json!({"msg": "", "status": "success", "error": ""})),
            docluster,
            |client| client.logout()
        ),
        call!(
            "docluster",
            "list_tokens",
            true,
            || json(
                200,
                serde_json::json!({"msg": {"tokens": {MINTED: {"username": "a", "ip": "127.0.0.1", "expiration": 1}}}, "status": "success", "error": ""})
            ),
            docluster,
            |client| client.list_tokens()
        ),
    ]
}
