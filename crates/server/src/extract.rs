//! Extractors: authentication and JSON bodies, both failing through [`ApiError`].

use crate::auth::token_hash;
use crate::{ApiError, AppState};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
pub(crate) use bytes_ext::read_body;
use garita_model::{Role, User};
use serde::de::DeserializeOwned;
use std::net::SocketAddr;

/// The client address, when the server knows it.
pub(crate) fn remote_addr(parts: &Parts) -> Option<String> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
}

/// The client address as an extractor (never fails).
pub struct Remote(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for Remote {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Remote(remote_addr(parts)))
    }
}

/// A UUID path parameter; a malformed one is a 404, since no such resource can exist.
pub struct Id(pub uuid::Uuid);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(text) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError::not_found("resource"))?;
        uuid::Uuid::parse_str(&text)
            .map(Id)
            .map_err(|_| ApiError::not_found("resource"))
    }
}

/// Query parameters as text, parsed by the handler so errors name the parameter.
pub struct QueryMap(pub std::collections::HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryMap {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<std::collections::HashMap<String, String>>::from_request_parts(
            parts, state,
        )
        .await
        .map(|axum::extract::Query(map)| QueryMap(map))
        .map_err(|err| ApiError::invalid("query", err.body_text()))
    }
}

impl QueryMap {
    /// The page parameters `limit` (1-500, default 50) and `offset`.
    pub fn page(&self) -> Result<garita_store::Page, ApiError> {
        let mut page = garita_store::Page::default();
        if let Some(limit) = self.0.get("limit") {
            page.limit = limit
                .parse()
                .ok()
                .filter(|limit| (1..=garita_store::Page::MAX_LIMIT).contains(limit))
                .ok_or_else(|| ApiError::invalid("limit", "use a whole number from 1 to 500"))?;
        }
        if let Some(offset) = self.0.get("offset") {
            page.offset = offset
                .parse()
                .map_err(|_| ApiError::invalid("offset", "use a whole number from 0"))?;
        }
        Ok(page)
    }

    /// An optional parameter parsed with `FromStr`.
    pub fn get<T: std::str::FromStr>(&self, name: &'static str) -> Result<Option<T>, ApiError> {
        self.0
            .get(name)
            .map(|text| {
                text.parse()
                    .map_err(|_| ApiError::invalid(name, format!("{text:?} is not a valid {name}")))
            })
            .transpose()
    }
}

/// A person authenticated by a bearer token.
#[derive(Debug, Clone)]
pub struct AuthUser {
    /// Who.
    pub user: User,
    /// SHA-256 of their token (to revoke it on logout).
    pub token_hash: String,
    /// Where from.
    pub remote: Option<String>,
}

impl AuthUser {
    /// Fails with 403 unless the user's role is in `allowed`.
    pub fn require(&self, allowed: &[Role]) -> Result<(), ApiError> {
        if allowed.contains(&self.user.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "role {} may not do this (allowed: {})",
                self.user.role,
                allowed
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    #[tracing::instrument(skip_all)] // Never log the token.
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| {
                ApiError::unauthenticated(
                    "log in (POST /api/v1/auth/login) and send Authorization: Bearer <token>",
                )
            })?;
        let token = header.strip_prefix("Bearer ").ok_or_else(|| {
            ApiError::unauthenticated("the Authorization header must be 'Bearer <token>'")
        })?;
        let hash = token_hash(token.trim());
        let user = state
            .store
            .user_for_token(&hash, state.now())
            .await?
            .ok_or_else(|| {
                ApiError::unauthenticated("the token is unknown, expired or revoked; log in again")
            })?;
        Ok(AuthUser {
            user,
            token_hash: hash,
            remote: remote_addr(parts),
        })
    }
}

/// A JSON body parsed with the path of the first bad field in the error.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("application/json"));
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "send the body as Content-Type: application/json",
            ));
        }
        let bytes = read_body(req, state).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Parses JSON: syntax errors are 400 `malformed-json`; type and value errors are 422 naming the field.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let result: Result<T, _> = serde_path_to_error::deserialize(&mut deserializer);
    match result {
        Ok(value) => {
            deserializer.end().map_err(|err| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "malformed-json",
                    format!("trailing data after JSON: {err}"),
                )
            })?;
            Ok(value)
        }
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            if inner.is_syntax() || inner.is_eof() {
                Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "malformed-json",
                    format!("the body is not valid JSON: {inner}"),
                ))
            } else {
                let field = garita_model::payload::error_field(&path, &inner.to_string());
                Err(ApiError::invalid(field, inner.to_string()))
            }
        }
    }
}

mod bytes_ext {
    use crate::{ApiError, AppState};
    use axum::body::Bytes;
    use axum::extract::{FromRequest, Request};
    use axum::http::StatusCode;

    pub(crate) async fn read_body(req: Request, state: &AppState) -> Result<Bytes, ApiError> {
        Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body-too-large",
                    format!("the body exceeds {} bytes", state.config.max_body_bytes),
                )
            } else {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "unreadable-body",
                    rejection.body_text(),
                )
            }
        })
    }
}
