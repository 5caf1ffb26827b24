//! Test databases: SQLite files in temporary folders, and PostgreSQL
//! databases of their own on the server `VIGIE_TEST_DATABASE_URL` names
//! (`postgres://postgres@127.0.0.1:5432/postgres`: a user who may create
//! databases).
//!
//! Without that variable the PostgreSQL tests say on stderr that they are
//! skipped, and pass; with `CI=true` (or `CI=1`) they fail instead, so a
//! CI run never passes without them.

use std::future::Future;
use std::path::Path;

use sqlx::{Connection, Executor, PgConnection};

/// The variable naming the PostgreSQL server of the tests.
pub const DATABASE_URL_VAR: &str = "VIGIE_TEST_DATABASE_URL";

/// The `sqlite://` URL of the file `dir/file`.
pub fn sqlite_url(dir: &Path, file: &str) -> String {
    format!("sqlite://{}", dir.join(file).display())
}

/// Whether the environment says this is a CI run (`CI=true` or `CI=1`).
pub fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| {
        let v = v.trim();
        v.eq_ignore_ascii_case("true") || v == "1"
    })
}

/// The PostgreSQL server for `test`, or `None` after saying on stderr
/// that the test is skipped. Panics when CI is set and the server is not.
pub fn postgres_server(test: &str) -> Option<String> {
    match std::env::var(DATABASE_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if on_ci() => panic!(
            "CI=true but {DATABASE_URL_VAR} is not set: {test} needs PostgreSQL \
             (set {DATABASE_URL_VAR}=postgres://USER@HOST:PORT/DB, a user who may create databases)"
        ),
        _ => {
            eprintln!("{test}: {DATABASE_URL_VAR} is not set; this PostgreSQL test is SKIPPED");
            None
        }
    }
}

/// A database of its own on the server, `vigie_t_<pid>_<random>`.
pub struct TestDatabase {
    server: String,
    name: String,
    /// The database's URL.
    pub url: String,
}

impl TestDatabase {
    pub async fn create(server: &str) -> TestDatabase {
        let name = format!("vigie_t_{}_{:016x}", std::process::id(), fastrand::u64(..));
        let mut admin = PgConnection::connect(server)
            .await
            .unwrap_or_else(|e| panic!("{DATABASE_URL_VAR}: cannot connect: {e}"));
        admin
            .execute(format!("CREATE DATABASE \"{name}\"").as_str())
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        let _ = admin.close().await;
        let mut url = url::Url::parse(server)
            .unwrap_or_else(|e| panic!("{DATABASE_URL_VAR} is not a URL: {e}"));
        url.set_path(&format!("/{name}"));
        TestDatabase {
            server: server.to_string(),
            name,
            url: url.to_string(),
        }
    }

    /// Drops the database, closing what is still connected to it.
    pub async fn drop_database(self) -> Result<(), String> {
        let mut admin = PgConnection::connect(&self.server)
            .await
            .map_err(|e| format!("{DATABASE_URL_VAR}: cannot connect: {e}"))?;
        let dropped = admin
            .execute(format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name).as_str())
            .await
            .map_err(|e| format!("DROP DATABASE {}: {e}", self.name));
        let _ = admin.close().await;
        dropped.map(|_| ())
    }
}

/// Runs `case` on a fresh PostgreSQL database, given its URL, and drops the
/// database afterwards, panic or not. `None` when the test is skipped (see
/// [`postgres_server`]).
pub async fn with_postgres<T, F, Fut>(test: &str, case: F) -> Option<T>
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let server = postgres_server(test)?;
    let db = TestDatabase::create(&server).await;
    // The case runs in a task of its own, so that its panic still lets the
    // database be dropped.
    let outcome = tokio::spawn(case(db.url.clone())).await;
    let dropped = db.drop_database().await;
    match outcome {
        Ok(value) => {
            if let Err(e) = dropped {
                panic!("{e}");
            }
            Some(value)
        }
        Err(e) => {
            if let Err(drop_error) = dropped {
                eprintln!("{test}: {drop_error}");
            }
            std::panic::resume_unwind(e.into_panic())
        }
    }
}
