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
                .respond_with_async(move |r| respond(r)),
        }
    };
}

/// One operation.
pub struct Call {
    pub vendor: &'static str,
    pub op: &'static str,
    /// A documented success answer, with [`MINTED`] wherever a secret comes back.
    pub success: fn() -> (u16, String),
    /// Whether the success answer has a body to decode, read from the type `send`
    /// returns (so from the spec's success schema).
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

/// One row of the call table, fields by name: the vendor and operation (as the crate's
/// tables name them), the client helper, the documented success answer, and the
/// request, optionally reading the argument replaced by [`Call::run_with`].
macro_rules! call {
    (vendor: $vendor:literal, op: $op:literal, client: $client:ident, success: $success:expr, request: |$c:ident| $request:expr $(,)?) => {
        call!(vendor: $vendor, op: $op, client: $client, success: $success, request: |$c, _arg| $request)
    };
    (vendor: $vendor:literal, op: $op:literal, client: $client:ident, success: $success:expr, request: |$c:ident, $arg:ident| $request:expr $(,)?) => {
        Call {
            vendor: $vendor,
            op: $op,
            success: $success,
            // Never run: only its type is read, the success type the spec gave `send`.
            has_body: answers_a_body(|| async {
                let $c = $client(Target::Url(String::new()), Duration::ZERO);
                let $arg = Arg::default();
                let request = $request;
                request.send().await
            }),
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

/// Whether the operation whose call `_send` makes answers a body to decode: its
/// success type is not `()` (a spec success without content).
fn answers_a_body<T: 'static, F>(_send: impl FnOnce() -> F) -> bool
where
    F: Future<Output = Result<progenitor_client::ResponseValue<T>, Error>>,
{
    std::any::TypeId::of::<T>() != std::any::TypeId::of::<()>()
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

/// Insight.io's `?token=` form: the token in the query, no `X-Auth-Token` to send
/// instead.
fn insight_query(base: Target, timeout: Duration) -> insight_tokens::Client {
    aim!(insight_tokens::Client::builder(), base)
        .timeout(timeout)
        .api_token_in_query(INSIGHT_TOKEN)
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

/// A token as Fastly's recorded answers give it: `null` services, `""` times.
fn fastly_token() -> (u16, String) {
    json(
        200,
        serde_json::json!({"id": "t1", "customer_id": "c1", "scope": "global", "scopes": ["global"], "services": null, "last_used_at": "", "expires_at": null}),
    )
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
        call! {
            vendor: "fastly",
            op: "create_token",
            client: fastly_form_login,
            success: || json(200, serde_json::json!({"id": "t1", "access_token": MINTED})),
            request: |client| {
                let form = fastly_tokens::TokenCreateForm::new()
                    .login("me@example.com", FORM_PASSWORD)
                    .service("s1")
                    .service("s2");
                client.create_token().body(form)
            },
        },
        call! {
            vendor: "fastly",
            op: "get_token",
            client: fastly,
            success: fastly_token,
            request: |client, arg| client
            .get_token()
            .token_id(arg.or("token_id", "t1")),
        },
        call! {
            vendor: "fastly",
            op: "get_token_current",
            client: fastly,
            success: fastly_token,
            request: |client| {
            client.get_token_current()
        },
        },
        call! {
            vendor: "fastly",
            op: "list_tokens_user",
            client: fastly,
            success: || json(200, serde_json::json!([{"id": "t1"}])),
            request: |client| client.list_tokens_user(),
        },
        call! {
            vendor: "fastly",
            op: "list_tokens_customer",
            client: fastly,
            success: || json(200, serde_json::json!([{"id": "t1"}])),
            request: |client, arg| client.list_tokens_customer().customer_id(arg.or("customer_id", "c1")),
        },
        call! {
            vendor: "fastly",
            op: "revoke_token",
            client: fastly,
            success: no_body_204,
            request: |client, arg| {
            client.revoke_token().token_id(arg.or("token_id", "t1"))
        },
        },
        call! {
            vendor: "fastly",
            op: "revoke_token_current",
            client: fastly,
            success: no_body_204,
            request: |client| {
            client.revoke_token_current()
        },
        },
        call! {
            vendor: "fastly",
            op: "bulk_revoke_tokens",
            client: fastly,
            success: no_body_204,
            request: |client| {
            client.bulk_revoke_tokens().body(fastly_tokens::types::BulkRevokeRequest::from_ids(["t1"]))
        },
        },
        call! {
            vendor: "fastly",
            op: "create_automation_token",
            client: fastly,
            success: || json(200, serde_json::json!({"id": "a1", "access_token": MINTED, "last_used_at": "", "expires_at": ""})),
            request: |client| client
                .create_automation_token()
                .body(fastly_tokens::AutomationTokenCreateRequest::new("ci").role("engineer").service("s1")),
        },
        call! {
            vendor: "fastly",
            op: "list_automation_tokens",
            client: fastly,
            success: || json(200, serde_json::json!({"data": [{"id": "a1", "services": null, "scopes": "global"}], "meta": {"current_page": 1}})),
            request: |client| client.list_automation_tokens().page(1u32).per_page(100u32),
        },
        call! {
            vendor: "fastly",
            op: "get_automation_token",
            client: fastly,
            success: || json(200, serde_json::json!({"id": "a1", "ip": null, "last_used_at": null})),
            request: |client, arg| client.get_automation_token().token_id(arg.or("token_id", "a1")),
        },
        call! {
            vendor: "fastly",
            op: "revoke_automation_token",
            client: fastly,
            success: no_body_204,
            request: |client, arg| client.revoke_automation_token().token_id(arg.or("token_id", "a1")),
        },
        call! {
            vendor: "ica",
            op: "create_jwt_token",
            client: ica,
            success: || json(200, serde_json::json!({"token": MINTED})),
            request: |client| client.create_jwt_token().tenant("t"),
        },
        call! {
            vendor: "ica",
            op: "refresh_jwt_token",
            client: ica,
            success: || json(200, serde_json::json!({"token": MINTED})),
            request: |client| client.refresh_jwt_token(),
        },
        call! {
            vendor: "tigergraph",
            op: "request_token_query",
            client: tigergraph,
            success: restpp,
            request: |client| client.request_token_query().lifetime(100u64),
        },
        call! {
            vendor: "tigergraph",
            op: "request_token_probe",
            client: tigergraph,
            success: restpp,
            request: |client| client.request_token_probe(),
        },
        call! {
            vendor: "tigergraph",
            op: "refresh_token_query",
            client: tigergraph,
            success: restpp,
            request: |client, arg| client
                .refresh_token_query()
                .token(arg.or("token", TG_TOKEN))
                .lifetime(100u64),
        },
        call! {
            vendor: "tigergraph",
            op: "delete_token_query",
            client: tigergraph,
            success: restpp,
            request: |client, arg| { client.delete_token_query().token(arg.or("token", TG_TOKEN)) },
        },
        call! {
            vendor: "tigergraph",
            op: "request_token_raw",
            client: tigergraph,
            success: restpp,
            request: |client| {
            client.request_token_raw().lifetime(100u64)
        },
        },
        call! {
            vendor: "tigergraph",
            op: "request_token",
            client: tigergraph,
            success: restpp,
            request: |client| client
            .request_token()
            .body_map(|b| b.graph("g".to_owned())),
        },
        call! {
            vendor: "tigergraph",
            op: "refresh_token",
            client: tigergraph,
            success: restpp,
            request: |client| client
            .refresh_token()
            .body_map(|b| b.token(TG_TOKEN).lifetime(tigergraph_tokens::Seconds(100))),
        },
        call! {
            vendor: "tigergraph",
            op: "delete_token",
            client: tigergraph,
            success: restpp,
            request: |client| client
            .delete_token()
            .body_map(|b| b.token(TG_TOKEN)),
        },
        call! {
            vendor: "tigergraph",
            op: "create_jwt",
            client: tigergraph,
            success: gsql,
            request: |client| client
            .create_jwt()
            .body_map(|b| b.lifetime(tigergraph_tokens::Milliseconds(1000))),
        },
        call! {
            vendor: "tigergraph",
            op: "drop_jwts",
            client: tigergraph,
            success: gsql,
            request: |client| {
            let tokens: tigergraph_tokens::TokenList = [TG_TOKEN, ICA_JWT].into_iter().collect();
            client.drop_jwts().body_map(|b| b.tokens(tokens))
        },
        },
        call! {
            vendor: "tigergraph",
            op: "purge_expired_tokens",
            client: tigergraph,
            success: gsql,
            request: |client| client
                .purge_expired_tokens()
                .body_map(|b| b.secret(vec![TG_SECRET.into()])),
        },
        call! {
            vendor: "tigergraph",
            op: "check_jwt",
            client: tigergraph,
            success: || json(
                200,
                serde_json::json!({"error": false, "message": format!("The token {TG_TOKEN} verification succeed.")})
            ),
            request: |client| client.check_jwt().body_map(|b| b.token(TG_TOKEN)),
        },
        call! {
            vendor: "insight",
            op: "create_api_token",
            client: insight,
            success: || json(200, serde_json::json!({"token": MINTED})),
            request: |client| client.create_api_token(),
        },
        call! {
            vendor: "insight",
            op: "get_api_tokens",
            client: insight_query,
            success: insight_list,
            request: |client| {
            client.get_api_tokens()
        },
        },
        call! {
            vendor: "insight",
            op: "revoke_api_token",
            client: insight,
            success: no_body_200,
            request: |client| {
            client.revoke_api_token()
        },
        },
        call! {
            vendor: "insight",
            op: "create_token",
            client: insight,
            success: || json(200, serde_json::json!({"token": MINTED})),
            request: |client| client.create_token(),
        },
        call! {
            vendor: "insight",
            op: "list_tokens",
            client: insight,
            success: insight_list,
            request: |client| client
            .list_tokens(),
        },
        call! {
            vendor: "insight",
            op: "delete_token",
            client: insight,
            success: no_body_200,
            request: |client| client
            .delete_token(),
        },
        call! {
            vendor: "insight",
            op: "authenticate_userpass",
            client: insight,
            success: || json(
                200,
                serde_json::json!({"token": MINTED, "expiresOn": "2030-01-01T00:00:00Z"})
            ),
            request: |client| client
                .authenticate_userpass()
                .body_map(|b| b.username("admin").password(INSIGHT_PASSWORD)),
        },
        call! {
            vendor: "insight",
            op: "authenticate_ldap",
            client: insight,
            success: || json(
                200,
                serde_json::json!({"token": MINTED, "expiresOn": "2030-01-01T00:00:00Z"})
            ),
            request: |client| client
                .authenticate_ldap()
                .body_map(|b| b.username("admin").password(INSIGHT_PASSWORD)),
        },
        call! {
            vendor: "insight",
            op: "authenticate_provider",
            client: insight,
            success: || json(200, serde_json::json!({"token": MINTED})),
            request: |client, arg| client
                .authenticate_provider()
                .provider(arg.or("provider", "github"))
                .body_map(|b| b.email("me@example.com").info(insight_tokens::types::ProviderInfo {
                    access_token: INSIGHT_OAUTH.into()
                })),
        },
        call! {
            vendor: "docluster",
            op: "login",
            client: docluster,
            success: || json(
                200,
                serde_json::json!({"msg": {"access_token": MINTED}, "status": "success", "error": ""})
            ),
            request: |client| client
                .login()
                .body_map(|b| b.username("admin").password(DOCLUSTER_PASSWORD)),
        },
        call! {
            vendor: "docluster",
            op: "check_token",
            client: docluster,
            success: || json(200, serde_json::json!({"msg": {}, "status": "success", "error": ""})),
            request: |client| client.check_token(),
        },
        call! {
            vendor: "docluster",
            op: "logout",
            client: docluster,
            success: || json(200, serde_json::json!({"msg": "", "status": "success", "error": ""})),
            request: |client| client.logout(),
        },
        call! {
            vendor: "docluster",
            op: "list_tokens",
            client: docluster,
            success: || json(
                200,
                serde_json::json!({"msg": {"tokens": {MINTED: {"username": "a", "ip": "127.0.0.1", "expiration": 1}}}, "status": "success", "error": ""})
            ),
            request: |client| client.list_tokens(),
        },
    ]
}
