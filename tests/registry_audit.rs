//! The audit trail: append-only (the database refuses UPDATE and DELETE), read by client,
//! by organization and as a stream from a cursor; the access-review export.
#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;
mod registry_common;

use common::{NOW, builder, three_level};
use oidfed::registry::{AuditEvent, REVIEW_CSV_HEADER, Registry};
use registry_common::on_both;
use serde_json::json;

async fn tamper(url: &str, sql: &str) -> Result<u64, String> {
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query(sql)
            .execute(&pool)
            .await
            .map(|r| r.rows_affected())
            .map_err(|e| e.to_string())
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query(sql)
            .execute(&pool)
            .await
            .map(|r| r.rows_affected())
            .map_err(|e| e.to_string())
    }
}

#[tokio::test]
async fn the_trail_is_append_only_streamable_and_exported() {
    on_both(|db| async move {
        let fed = three_level()
            .leaf("rp2", &["org"])
            .metadata(
                "rp2",
                "openid_relying_party",
                json!({"client_name": "RP, \"2\""}),
            )
            .ec_claim(
                "ta",
                "trust_mark_issuers",
                json!({"https://fed.example/marks/certified": ["https://fed.example/ta"]}),
            )
            .trust_mark("ta", "rp", "https://fed.example/marks/certified")
            .build();
        let (b, clock) = builder(&fed, &["ta"]);
        let r = b.build().unwrap();
        let reg = Registry::open(&db.url).await.unwrap().with_clock(clock);
        reg.admit(&r, &fed.id("rp"), "openid_relying_party")
            .await
            .unwrap();
        reg.admit(&r, &fed.id("rp2"), "openid_relying_party")
            .await
            .unwrap();
        reg.grant("alice", &fed.id("rp"), &["openid"])
            .await
            .unwrap();
        reg.offboard_client(&fed.id("rp2"), "test").await.unwrap();

        // A SIEM reads the trail two entries at a time from a cursor.
        let mut seen = Vec::new();
        let mut cursor = 0;
        loop {
            let page = reg.audit_after(cursor, 2).await.unwrap();
            let Some(last) = page.last() else { break };
            cursor = last.seq;
            seen.extend(page);
        }
        let events: Vec<AuditEvent> = seen.iter().map(|e| e.event).collect();
        assert_eq!(
            events,
            [
                AuditEvent::Admitted,
                AuditEvent::Admitted,
                AuditEvent::ConsentGranted,
                AuditEvent::Offboarded
            ]
        );
        assert!(seen.windows(2).all(|w| w[0].seq < w[1].seq));
        assert!(reg.audit_after(cursor, 10).await.unwrap().is_empty());
        assert_eq!(
            reg.audit_of_organization(&fed.id("org"))
                .await
                .unwrap()
                .len(),
            4
        );

        // History cannot be rewritten, even with direct SQL.
        assert!(
            tamper(&db.url, "UPDATE oidfed_audit SET event = 'admitted'")
                .await
                .is_err()
        );
        assert!(tamper(&db.url, "DELETE FROM oidfed_audit").await.is_err());
        assert_eq!(reg.audit_after(0, 100).await.unwrap().len(), 4);

        let rows = reg.access_review().await.unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].client_id, fed.id("rp").as_str());
        assert_eq!(rows[0].organization, fed.id("org").as_str());
        assert_eq!(rows[0].binding_evidence, "chain_only");
        assert_eq!(rows[0].registration_model, "federation");
        assert_eq!((rows[0].since, rows[0].last_validated), (NOW, NOW));
        assert_eq!(rows[0].status, "active");
        assert_eq!(rows[0].trust_marks, "https://fed.example/marks/certified");
        assert_eq!(rows[1].status, "revoked");

        let csv = reg.access_review_csv().await.unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], REVIEW_CSV_HEADER);
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[1].split(',').count(), 9);
        let json = reg.access_review_json().await.unwrap();
        assert_eq!(json[1]["status"], "revoked");
        assert_eq!(
            json[0]["trust_marks"],
            "https://fed.example/marks/certified"
        );
    })
    .await;
}
