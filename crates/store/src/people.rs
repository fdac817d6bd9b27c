//! Users and their session tokens.

use crate::{Page, Paged, Result, Store, StoreError, parse_enum, parse_id, parse_ts, ts};
use garita_model::{Role, User, Username};
use sqlx::Row;
use sqlx::any::AnyRow;
use time::OffsetDateTime;
use uuid::Uuid;

/// A user with the stored password hash (PHC string), for login.
#[derive(Debug, Clone)]
pub struct UserRecord {
    /// The user.
    pub user: User,
    /// Argon2id PHC string.
    pub password_hash: String,
}

pub(crate) fn user_from_row(row: &AnyRow) -> Result<User> {
    let username: String = row.try_get("username")?;
    Ok(User {
        id: parse_id("users", &row.try_get::<String, _>("id")?)?,
        username: Username::new(&username)
            .map_err(|err| StoreError::corrupt("users", err.to_string()))?,
        role: parse_enum("users", &row.try_get::<String, _>("role")?)?,
        // Read as 0/1: the Any driver cannot decode a SQLite BOOLEAN column as `bool`.
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        created_at: parse_ts("users", &row.try_get::<String, _>("created_at")?)?,
    })
}

const USER_COLUMNS: &str = "id, username, role, password_hash, CASE WHEN disabled THEN 1 ELSE 0 END AS disabled, created_at";

impl Store {
    /// Creates a user.
    ///
    /// # Errors
    /// `Duplicate` when the username is taken.
    pub async fn create_user(
        &self,
        username: &Username,
        role: Role,
        password_hash: &str,
        now: OffsetDateTime,
    ) -> Result<User> {
        let user = User {
            id: Uuid::new_v4(),
            username: username.clone(),
            role,
            disabled: false,
            created_at: now,
        };
        sqlx::query(
            "INSERT INTO users (id, username, role, password_hash, disabled, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(user.id.to_string())
        .bind(username.as_str())
        .bind(role.as_str())
        .bind(password_hash)
        .bind(false)
        .bind(ts(now))
        .execute(&self.pool)
        .await
        .map_err(|err| StoreError::unique(err, "username"))?;
        Ok(user)
    }

    /// Looks a user up by name, with the password hash.
    ///
    /// # Errors
    /// On database failure.
    pub async fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username = $1"
        ))
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(UserRecord {
                user: user_from_row(&row)?,
                password_hash: row.try_get("password_hash")?,
            })
        })
        .transpose()
    }

    /// Replaces a user's password hash and revokes all their tokens.
    ///
    /// # Errors
    /// `NotFound` when there is no such user.
    pub async fn set_password(
        &self,
        username: &str,
        password_hash: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE username = $2")
            .bind(password_hash)
            .bind(username)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "user" });
        }
        sqlx::query(
            "UPDATE tokens SET revoked_at = $1 WHERE revoked_at IS NULL AND user_id = (SELECT id FROM users WHERE username = $2)",
        )
        .bind(ts(now))
        .bind(username)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Lists users by name.
    ///
    /// # Errors
    /// On database failure.
    pub async fn list_users(&self, page: Page) -> Result<Paged<User>> {
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY username LIMIT $1 OFFSET $2"
        ))
        .bind(page.sql_limit())
        .bind(page.sql_offset())
        .fetch_all(&self.pool)
        .await?;
        let users = rows.iter().map(user_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Paged::from_rows(users, page))
    }

    /// Number of users (zero on a fresh data dir).
    ///
    /// # Errors
    /// On database failure.
    pub async fn count_users(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Records a session token by its hash.
    ///
    /// # Errors
    /// On database failure.
    pub async fn insert_token(
        &self,
        token_hash: &str,
        user_id: Uuid,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        sqlx::query("INSERT INTO tokens (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash)
            .bind(user_id.to_string())
            .bind(ts(now))
            .bind(ts(expires_at))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The enabled user holding an unexpired, unrevoked token.
    ///
    /// # Errors
    /// On database failure.
    pub async fn user_for_token(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<User>> {
        let row = sqlx::query(
            "SELECT u.id, u.username, u.role, u.password_hash, CASE WHEN u.disabled THEN 1 ELSE 0 END AS disabled, \
             u.created_at FROM tokens t \
             JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2 AND u.disabled = FALSE",
        )
        .bind(token_hash)
        .bind(ts(now))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Revokes one token.
    ///
    /// # Errors
    /// On database failure.
    pub async fn revoke_token(&self, token_hash: &str, now: OffsetDateTime) -> Result<()> {
        sqlx::query(
            "UPDATE tokens SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL",
        )
        .bind(ts(now))
        .bind(token_hash)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
