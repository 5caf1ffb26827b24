//! Watchlists: the documented example loads, bad files are refused with
//! file and line, and `vigie check` exits accordingly.

use std::path::Path;

use vigie::catalog::Catalog;

use crate::support::{sqlite_url, stderr, stdout, vigie, watchlist};

#[test]
fn the_documented_example_watchlist_loads() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("watchlists");
    let text = std::fs::read_to_string(dir.join("example.toml")).unwrap();
    let c = Catalog::from_sources(&[(dir.join("example.toml"), text)]).unwrap();
    assert_eq!(c.shops.len(), 1);
    let shop = &c.shops[0];
    assert_eq!(shop.rate, 0.5);
    assert_eq!(shop.schedule.as_ref().map(|c| c.line()), Some("30 6 * * *"));
    assert!(!shop.allow_private_network);
    assert_eq!(c.match_brand("ML Paris").unwrap().name, "Maison Lumière");
    assert_eq!(c.subscribers[0].brands.len(), 2);
    // Its [policy], [[announced]] and [[calendar_override]] are read.
    assert_eq!(c.policy.perpetual_days, 42);
    assert_eq!(c.policy.announced.len(), 1);
    let summer_2027 = c
        .calendar()
        .periods(vigie::domain::calendar::Zone::National, 2027)[1]
        .clone();
    assert_eq!(
        summer_2027.last_day.to_string(),
        "2027-07-27",
        "the override wins"
    );
    assert_eq!(summer_2027.first_day.to_string(), "2027-06-23");
}

#[tokio::test]
async fn check_accepts_the_shipped_watchlists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = vigie(root, &["check", "watchlists"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("all valid"), "{}", stdout(&out));
}

#[tokio::test]
async fn check_names_the_file_and_line_of_a_mistake_and_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let wl = watchlist(
        tmp.path(),
        "shops.toml",
        "[[brand]]\nname = \"A\"\n\n[[subscriber]]\nname = \"S\"\nemail = \"s@x.example\"\nbrands = [\"A\", \"Zed\"]\n",
    );
    let out = vigie(tmp.path(), &["check", wl.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("shops.toml:7:"), "{err}");
    assert!(err.contains("unknown brand `Zed`"), "{err}");

    std::fs::write(wl.join("broken.toml"), "[[shop]\nname = 1\n").unwrap();
    let out = vigie(tmp.path(), &["check", wl.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("broken.toml:1:"), "{}", stderr(&out));
}

#[tokio::test]
async fn a_scan_with_a_malformed_watchlist_touches_nothing_and_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let wl = watchlist(tmp.path(), "w.toml", "[[shop]]\nname = \"x\"\n");
    let db = sqlite_url(tmp.path(), "v.db");
    let out = vigie(
        tmp.path(),
        &[
            "scan",
            "--watchlists",
            wl.to_str().unwrap(),
            "--database",
            &db,
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("w.toml:1:"), "{}", stderr(&out));
    assert!(stderr(&out).contains("url"), "{}", stderr(&out));
    assert!(
        !tmp.path().join("v.db").exists(),
        "the database must not be created"
    );
}
