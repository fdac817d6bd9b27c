-- Console (HTML) sessions: the cookie's random token is stored only as its SHA-256; the CSRF token every console
-- form must echo is per session.
CREATE TABLE console_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX console_sessions_user ON console_sessions (user_id);
