//! Explicit Registration bodies are bounded before they are parsed (issue 13, item 5): an
//! oversized body is refused on its length, and a `trust-chain+json` body with too many
//! elements is refused while it is read, without materialising them. Both are measured with
//! a counting global allocator, so this binary holds a single test (no other thread
//! allocates while it measures).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{builder, three_level};
use oidfed::server::ExplicitRegistration;
use oidfed::signer::JwkSigner;
use oidfed::{EntityType, Error, Limit};

/// Counts the bytes allocated through it, then lets the system allocator do the work.
struct Counting;

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to `System`, which upholds the contract; the
// counter is a relaxed atomic and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATED.fetch_add(new_size, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const RP: EntityType = EntityType::OPENID_RELYING_PARTY;
const CHAIN: &str = "application/trust-chain+json";

#[test]
fn bodies_are_bounded_before_they_are_parsed() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let fed = three_level().build();
    let r = builder(&fed, &["ta"]).0.build().unwrap();
    let signer = JwkSigner::generate_es256("op-1").unwrap();
    let reg = ExplicitRegistration {
        our_entity_id: "https://op.example.org",
        signer: &signer,
        max_lifetime: 3600,
        entity_type: RP,
        decide: None,
    };

    // A million strings in 3 MiB, beyond the 2 MiB default: refused on its length. Parsed,
    // its values alone would take tens of MiB.
    let million = format!("[{}\"\"]", "\"\",".repeat(1_000_000));
    assert!(million.len() > 2 * 1024 * 1024);
    let before = ALLOCATED.load(Ordering::SeqCst);
    let e = rt
        .block_on(r.register_explicit(million.as_bytes(), CHAIN, &reg))
        .unwrap_err();
    let cost = ALLOCATED.load(Ordering::SeqCst) - before;
    assert!(
        matches!(e, Error::LimitExceeded { limit: Limit::RequestBody, value, .. } if value == 2 * 1024 * 1024),
        "{e}"
    );
    assert!(
        cost < 64 * 1024,
        "refusing the oversized body allocated {cost} bytes"
    );

    // 600,000 strings in under 2 MiB: read until the 17th, then refused with the chain
    // length limit. Materialised whole, 600,000 `String`s would take at least 14 MiB.
    let many = format!("[{}\"\"]", "\"\",".repeat(600_000));
    assert!(many.len() < 2 * 1024 * 1024);
    let before = ALLOCATED.load(Ordering::SeqCst);
    let e = rt
        .block_on(r.register_explicit(many.as_bytes(), CHAIN, &reg))
        .unwrap_err();
    let cost = ALLOCATED.load(Ordering::SeqCst) - before;
    assert!(
        matches!(
            e,
            Error::LimitExceeded {
                limit: Limit::ChainLength,
                value: 16,
                ..
            }
        ),
        "{e}"
    );
    assert!(
        cost < 64 * 1024,
        "refusing the long chain allocated {cost} bytes"
    );

    // A well-formed chain of the federation still registers.
    let body = serde_json::to_vec(&fed.chain(&["rp", "org", "ta"], true)).unwrap();
    let out = rt
        .block_on(r.register_explicit(&body, CHAIN, &reg))
        .unwrap();
    assert_eq!(out.record.client_id.as_str(), fed.id("rp").as_str());
}
