//! The agency, its sites and devices.

use crate::{Page, Paged, Result, Store, StoreError, parse_enum, parse_id, parse_ts, ts};
use garita_model::{
    Agency, CountryCode, Device, DeviceKind, DeviceStatus, Mobility, Site, SiteKind,
};
use sqlx::Row;
use sqlx::any::AnyRow;
use time::OffsetDateTime;
use uuid::Uuid;

fn site_from_row(row: &AnyRow) -> Result<Site> {
    Ok(Site {
        id: parse_id("sites", &row.try_get::<String, _>("id")?)?,
        name: row.try_get("name")?,
        kind: parse_enum("sites", &row.try_get::<String, _>("kind")?)?,
        mobility: parse_enum("sites", &row.try_get::<String, _>("mobility")?)?,
        created_at: parse_ts("sites", &row.try_get::<String, _>("created_at")?)?,
    })
}

fn device_from_row(row: &AnyRow) -> Result<Device> {
    Ok(Device {
        id: parse_id("devices", &row.try_get::<String, _>("id")?)?,
        site_id: parse_id("devices", &row.try_get::<String, _>("site_id")?)?,
        kind: parse_enum("devices", &row.try_get::<String, _>("kind")?)?,
        public_key: row.try_get("public_key")?,
        status: parse_enum("devices", &row.try_get::<String, _>("status")?)?,
        created_at: parse_ts("devices", &row.try_get::<String, _>("created_at")?)?,
    })
}

impl Store {
    /// The agency, once initialised.
    ///
    /// # Errors
    /// On database failure.
    pub async fn agency(&self) -> Result<Option<Agency>> {
        let row = sqlx::query("SELECT name, country FROM agency WHERE id = 1")
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            let country: String = row.try_get("country")?;
            Ok(Agency {
                name: row.try_get("name")?,
                country: CountryCode::new(&country)
                    .map_err(|err| StoreError::corrupt("agency", err.to_string()))?,
            })
        })
        .transpose()
    }

    /// Sets the agency once. Setting it again to the same country is a no-op; another country is refused, since
    /// sharing rules (own citizens never leave) depend on it.
    ///
    /// # Errors
    /// `Duplicate` when a different agency country is already set.
    pub async fn init_agency(&self, agency: &Agency, now: OffsetDateTime) -> Result<Agency> {
        if let Some(existing) = self.agency().await? {
            return if existing.country == agency.country {
                Ok(existing)
            } else {
                Err(StoreError::Duplicate {
                    what: "agency country",
                })
            };
        }
        sqlx::query("INSERT INTO agency (id, name, country, created_at) VALUES (1, $1, $2, $3)")
            .bind(&agency.name)
            .bind(agency.country.as_str())
            .bind(ts(now))
            .execute(&self.pool)
            .await
            .map_err(|err| StoreError::unique(err, "agency"))?;
        Ok(agency.clone())
    }

    /// Registers a site.
    ///
    /// # Errors
    /// `Duplicate` when the name is taken.
    pub async fn create_site(
        &self,
        name: &str,
        kind: SiteKind,
        mobility: Mobility,
        now: OffsetDateTime,
    ) -> Result<Site> {
        let site = Site {
            id: Uuid::new_v4(),
            name: name.to_owned(),
            kind,
            mobility,
            created_at: now,
        };
        sqlx::query(
            "INSERT INTO sites (id, name, kind, mobility, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(site.id.to_string())
        .bind(&site.name)
        .bind(kind.as_str())
        .bind(mobility.as_str())
        .bind(ts(now))
        .execute(&self.pool)
        .await
        .map_err(|err| StoreError::unique(err, "site name"))?;
        Ok(site)
    }

    /// A site by id or by name.
    ///
    /// # Errors
    /// On database failure.
    pub async fn site(&self, id_or_name: &str) -> Result<Option<Site>> {
        let row = sqlx::query(
            "SELECT id, name, kind, mobility, created_at FROM sites WHERE id = $1 OR name = $1",
        )
        .bind(id_or_name)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(site_from_row).transpose()
    }

    /// Lists sites by name.
    ///
    /// # Errors
    /// On database failure.
    pub async fn list_sites(&self, page: Page) -> Result<Paged<Site>> {
        let rows = sqlx::query("SELECT id, name, kind, mobility, created_at FROM sites ORDER BY name LIMIT $1 OFFSET $2")
            .bind(page.sql_limit())
            .bind(page.sql_offset())
            .fetch_all(&self.pool)
            .await?;
        Ok(Paged::from_rows(
            rows.iter().map(site_from_row).collect::<Result<_>>()?,
            page,
        ))
    }

    /// Registers a device at a site.
    ///
    /// # Errors
    /// `NotFound` when the site does not exist, `Duplicate` when the key is already registered.
    pub async fn create_device(
        &self,
        site_id: Uuid,
        kind: DeviceKind,
        public_key: &str,
        now: OffsetDateTime,
    ) -> Result<Device> {
        if self.site(&site_id.to_string()).await?.is_none() {
            return Err(StoreError::NotFound { what: "site" });
        }
        let device = Device {
            id: Uuid::new_v4(),
            site_id,
            kind,
            public_key: public_key.to_owned(),
            status: DeviceStatus::Active,
            created_at: now,
        };
        sqlx::query(
            "INSERT INTO devices (id, site_id, kind, public_key, status, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(device.id.to_string())
        .bind(site_id.to_string())
        .bind(kind.as_str())
        .bind(public_key)
        .bind(DeviceStatus::Active.as_str())
        .bind(ts(now))
        .execute(&self.pool)
        .await
        .map_err(|err| StoreError::unique(err, "device public key"))?;
        Ok(device)
    }

    /// A device by id.
    ///
    /// # Errors
    /// On database failure.
    pub async fn device(&self, id: Uuid) -> Result<Option<Device>> {
        let row = sqlx::query(
            "SELECT id, site_id, kind, public_key, status, created_at FROM devices WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(device_from_row).transpose()
    }

    /// Lists devices, newest first.
    ///
    /// # Errors
    /// On database failure.
    pub async fn list_devices(&self, page: Page) -> Result<Paged<Device>> {
        let rows = sqlx::query(
            "SELECT id, site_id, kind, public_key, status, created_at FROM devices ORDER BY created_at DESC, id LIMIT $1 OFFSET $2",
        )
        .bind(page.sql_limit())
        .bind(page.sql_offset())
        .fetch_all(&self.pool)
        .await?;
        Ok(Paged::from_rows(
            rows.iter().map(device_from_row).collect::<Result<_>>()?,
            page,
        ))
    }

    /// Revokes a device: its signatures are refused from now on.
    ///
    /// # Errors
    /// `NotFound` when there is no such device.
    pub async fn revoke_device(&self, id: Uuid) -> Result<Device> {
        sqlx::query("UPDATE devices SET status = $1 WHERE id = $2")
            .bind(DeviceStatus::Revoked.as_str())
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        self.device(id)
            .await?
            .ok_or(StoreError::NotFound { what: "device" })
    }
}
