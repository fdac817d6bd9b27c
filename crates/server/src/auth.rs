//! Passwords (argon2id), session tokens, and the login/logout handlers.

use crate::extract::{AuthUser, JsonBody, Remote};
use crate::{ApiError, AppState};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use garita_store::AuditEvent;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Hashes a password with argon2id (default parameters: 19 MiB, 2 passes) and a random salt.
///
/// # Errors
/// When hashing fails (it does not for valid parameters).
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| ApiError::internal(&err))
}

/// Checks a password against a PHC string; a malformed hash never verifies.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// `bytes` random bytes as URL-safe base64.
pub(crate) fn random_secret(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// Tokens are stored only as their SHA-256: a stolen database holds no usable token.
pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Longest password accepted (argon2 has no limit; this bounds the work an attacker can ask for).
const MAX_PASSWORD: usize = 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginRequest {
    username: String,
    password: String,
}

#[derive(Serialize)]
pub(crate) struct LoginResponse {
    token: String,
    expires_at: String,
    role: garita_model::Role,
}

/// `POST /api/v1/auth/login`: exchanges a username and password for a bearer token.
pub(crate) async fn login(
    State(state): State<AppState>,
    Remote(remote): Remote,
    JsonBody(request): JsonBody<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let user = authenticate(&state, &request.username, &request.password, remote).await?;
    let now = state.now();
    let token = random_secret(32);
    let expires_at = now + state.config.token_ttl;
    state
        .store
        .insert_token(&token_hash(&token), user.id, now, expires_at)
        .await?;
    Ok(Json(LoginResponse {
        token,
        expires_at: garita_store::ts(expires_at),
        role: user.role,
    }))
}

/// Checks a username and password (a disabled user never passes) and audits the attempt either way; 401
/// `bad-credentials` when they do not match. The API's login and the console's both call this.
pub(crate) async fn authenticate(
    state: &AppState,
    username: &str,
    password: &str,
    remote: Option<String>,
) -> Result<garita_model::User, ApiError> {
    let mut event = AuditEvent::new(state.now(), "auth.login", "user");
    event.actor_name = Some(username.to_owned());
    event.remote_addr = remote;
    let record = if password.len() > MAX_PASSWORD {
        None
    } else {
        state.store.user_by_username(username).await?
    };
    let verified = record
        .filter(|record| !record.user.disabled)
        .filter(|record| verify_password(password, &record.password_hash));
    let Some(record) = verified else {
        event.outcome = "denied".into();
        crate::ledger::record_audit(state, event).await?;
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad-credentials",
            "wrong username or password",
        ));
    };
    event.actor_kind = "user".into();
    event.actor_id = Some(record.user.id);
    event.object_id = Some(record.user.id.to_string());
    crate::ledger::record_audit(state, event).await?;
    Ok(record.user)
}

/// `POST /api/v1/auth/logout`: revokes the token used for this request.
pub(crate) async fn logout(
    State(state): State<AppState>,
    auth: AuthUser,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .revoke_token(&auth.token_hash, state.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("Correct horse", &phc));
        assert!(!verify_password("correct horse", "not a hash"));
    }
}
