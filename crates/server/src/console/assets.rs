//! Styles and scripts embedded in the binary, served under names that carry a hash of their content so they can
//! be cached for a year and still change with each release.

use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

struct Asset {
    name: &'static str,
    hashed: String,
    media_type: &'static str,
    body: &'static [u8],
}

fn asset(name: &'static str, media_type: &'static str, body: &'static [u8]) -> Asset {
    let digest = hex::encode(Sha256::digest(body));
    let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
    Asset {
        name,
        hashed: format!("{stem}.{}.{ext}", &digest[..12]),
        media_type,
        body,
    }
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    vec![
        asset(
            "console.css",
            "text/css; charset=utf-8",
            include_bytes!("assets/console.css"),
        ),
        asset(
            "console.js",
            "text/javascript; charset=utf-8",
            include_bytes!("assets/console.js"),
        ),
        asset(
            "xray.js",
            "text/javascript; charset=utf-8",
            include_bytes!("assets/xray.js"),
        ),
    ]
});

/// The URL of an embedded asset by its plain name (`console.css`).
pub(crate) fn asset_url(name: &str) -> String {
    ASSETS.iter().find(|asset| asset.name == name).map_or_else(
        || format!("/console/assets/{name}"),
        |asset| format!("/console/assets/{}", asset.hashed),
    )
}

/// `GET /console/assets/{name}`: public, immutable.
pub(crate) async fn serve(Path(name): Path<String>) -> Response {
    let Some(asset) = ASSETS.iter().find(|asset| asset.hashed == name) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let mut response = Body::from(asset.body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.media_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_names_carry_their_hash() {
        let url = asset_url("console.css");
        assert!(url.starts_with("/console/assets/console."), "{url}");
        assert!(url.ends_with(".css"));
        assert_eq!(url.len(), "/console/assets/console..css".len() + 12);
    }
}
