//! Console sessions: a random cookie token (stored only as its SHA-256 in `console_sessions`), `HttpOnly`,
//! `SameSite=Strict`, `Secure` behind an HTTPS proxy; one CSRF token per session that every form echoes, checked
//! in constant time by [`Posted`] before any handler runs. The login form has its own double-submit token.

use super::layout::{PageError, bare_page};
use crate::auth::{authenticate, random_secret, token_hash};
use crate::extract::{AuthUser, remote_addr};
use crate::{ApiError, AppState};
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{Markup, html};

/// The session cookie.
const SESSION_COOKIE: &str = "garita_session";
/// The login form's double-submit CSRF cookie.
const LOGIN_COOKIE: &str = "garita_login";
/// The hidden form field holding the CSRF token.
pub(crate) const CSRF_FIELD: &str = "_csrf";

/// A logged-in console user: the same [`AuthUser`] the API uses (so audit rows look alike) and the session's CSRF
/// token.
pub(crate) struct Console {
    /// Who, and from where.
    pub auth: AuthUser,
    /// The CSRF token this session's forms carry.
    pub csrf: String,
}

impl Console {
    /// The hidden CSRF input every form includes.
    pub(crate) fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name=(CSRF_FIELD) value=(self.csrf); }
    }
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Cookies get `Secure` when the request came through an HTTPS proxy (a plain-HTTP loopback deployment would
/// otherwise lose them).
fn secure_suffix(headers: &HeaderMap) -> &'static str {
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("https"));
    if https { "; Secure" } else { "" }
}

fn set_cookie(headers: &HeaderMap, name: &str, value: &str, path: &str, max_age: i64) -> String {
    format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{}",
        secure_suffix(headers)
    )
}

/// Compares two secrets in time independent of where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl FromRequestParts<AppState> for Console {
    type Rejection = PageError;

    #[tracing::instrument(skip_all)] // Never log the cookie.
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or(PageError::Login)?;
        let hash = token_hash(token);
        let session = state
            .store
            .console_session(&hash, state.now())
            .await?
            .ok_or(PageError::Login)?;
        Ok(Console {
            auth: AuthUser {
                user: session.user,
                token_hash: hash,
                remote: remote_addr(parts),
            },
            csrf: session.csrf_token,
        })
    }
}

/// The fields of a posted form.
pub(crate) struct FormMap(Vec<(String, String)>);

impl FormMap {
    /// A field's value, if sent.
    pub(crate) fn opt(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// A field that must be present.
    pub(crate) fn get(&self, name: &str) -> Result<&str, ApiError> {
        self.opt(name)
            .ok_or_else(|| ApiError::invalid(name, "missing from the form"))
    }

    /// A field parsed with `FromStr`; the error names the field.
    pub(crate) fn parse<T: std::str::FromStr>(&self, name: &str) -> Result<T, ApiError> {
        let text = self.get(name)?;
        text.trim()
            .parse()
            .map_err(|_| ApiError::invalid(name, format!("{text:?} is not a valid {name}")))
    }
}

async fn read_form(req: Request, state: &AppState) -> Result<FormMap, PageError> {
    axum::Form::<Vec<(String, String)>>::from_request(req, state)
        .await
        .map(|axum::Form(pairs)| FormMap(pairs))
        .map_err(|rejection| {
            PageError::Api(ApiError::invalid(
                "form",
                format!("send the form as application/x-www-form-urlencoded ({rejection})"),
            ))
        })
}

/// A form posted by a logged-in user whose CSRF token matched the session's.
pub(crate) struct Posted {
    /// Who posted it.
    pub console: Console,
    /// The fields.
    pub form: FormMap,
}

impl FromRequest<AppState> for Posted {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let console = Console::from_request_parts(&mut parts, state).await?;
        let form = read_form(Request::from_parts(parts, body), state).await?;
        let sent = form.opt(CSRF_FIELD).unwrap_or_default();
        if !same_secret(sent, &console.csrf) {
            return Err(PageError::Api(ApiError::forbidden(
                "this form is stale or did not come from this console (CSRF check failed); reload the page",
            )));
        }
        Ok(Posted { console, form })
    }
}

fn login_form(csrf: &str, error: Option<&str>) -> Markup {
    html! {
        main.narrow.login {
            h1 { "garita" }
            p.lede { "Border screening console" }
            @if let Some(error) = error {
                p.error-detail role="alert" { (error) }
            }
            form method="post" action="/console/login" {
                input type="hidden" name=(CSRF_FIELD) value=(csrf);
                label { "Username" input name="username" autocomplete="username" required autofocus; }
                label { "Password" input name="password" type="password" autocomplete="current-password" required; }
                button type="submit" { "Log in" }
            }
        }
    }
}

fn login_page(
    headers: &HeaderMap,
    error: Option<&str>,
    status: axum::http::StatusCode,
) -> Response {
    let csrf = random_secret(24);
    let body = bare_page("Log in", login_form(&csrf, error));
    let mut response = (status, Html(body.into_string())).into_response();
    if let Ok(value) = HeaderValue::from_str(&set_cookie(
        headers,
        LOGIN_COOKIE,
        &csrf,
        "/console/login",
        900,
    )) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// `GET /console/login`: the login form (with a fresh double-submit CSRF token).
pub(crate) async fn view_login_get(headers: HeaderMap) -> Response {
    login_page(&headers, None, axum::http::StatusCode::OK)
}

/// `POST /console/login`: checks the password (audited as `auth.login`), opens a session, goes to the dashboard.
pub(crate) async fn login_post(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, PageError> {
    let headers = req.headers().clone();
    let (parts, body) = req.into_parts();
    let remote = remote_addr(&parts);
    let form = read_form(Request::from_parts(parts, body), &state).await?;
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    let sent = form.opt(CSRF_FIELD).unwrap_or_default();
    if expected.is_empty() || !same_secret(sent, expected) {
        return Ok(login_page(
            &headers,
            Some("The login form expired; please try again."),
            axum::http::StatusCode::FORBIDDEN,
        ));
    }
    let username = form.opt("username").unwrap_or_default();
    let password = form.opt("password").unwrap_or_default();
    let user = match authenticate(&state, username, password, remote).await {
        Ok(user) => user,
        Err(err) if err.status == axum::http::StatusCode::UNAUTHORIZED => {
            return Ok(login_page(
                &headers,
                Some("Wrong username or password."),
                axum::http::StatusCode::UNAUTHORIZED,
            ));
        }
        Err(err) => return Err(err.into()),
    };
    let now = state.now();
    let token = random_secret(32);
    let csrf = random_secret(24);
    let ttl = state.config.token_ttl;
    state
        .store
        .insert_console_session(&token_hash(&token), user.id, &csrf, now, now + ttl)
        .await?;
    let mut response = Redirect::to("/console").into_response();
    let cookies = [
        set_cookie(
            &headers,
            SESSION_COOKIE,
            &token,
            "/console",
            ttl.whole_seconds(),
        ),
        set_cookie(&headers, LOGIN_COOKIE, "", "/console/login", 0),
    ];
    for value in cookies {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    Ok(response)
}

/// `POST /console/logout`: ends the session (CSRF-checked) and clears the cookie.
pub(crate) async fn logout_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    posted: Posted,
) -> Result<Response, PageError> {
    state
        .store
        .revoke_console_session(&posted.console.auth.token_hash, state.now())
        .await?;
    let mut response = Redirect::to("/console/login").into_response();
    if let Ok(value) =
        HeaderValue::from_str(&set_cookie(&headers, SESSION_COOKIE, "", "/console", 0))
    {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("garita_session_x=1; garita_session=abc; other=2"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, LOGIN_COOKIE), None);
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
        assert!(!same_secret("", "a"));
    }
}
