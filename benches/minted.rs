//! What credentials minted by a leaked key cost: reading an `AssumeRole` answer (JSON and
//! XML), and the minted-key set at its bound of 1,024 keys: a lookup, the parse a VM makes
//! when the shared value has changed, and one key recorded (read, add, write back).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use akguard::core::issued::{read_issued, Issued};
use akguard::core::minted::{MintedSet, MAX_MINTED};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::time::Duration;

const JSON: &str = r#"{"RequestId":"6894B13B-6D71-4EF5-88FA-F32781734A7F","AssumedRoleUser":{"Arn":"acs:ram::123456789012****:role/adminrole/alice","AssumedRoleId":"34458433936495****:alice"},"Credentials":{"SecurityToken":"CAIS+gF1q6Ft5B2yfSjIr5bkKILdgbxw1pe6Vnbz0TIxeeF5oqzH1Dz2IHFPeHJrBeAYt/o1nWlU7f4Ylq","AccessKeyId":"STS.NTestMinted0001","AccessKeySecret":"3dZn8KyaYWfvrBR4ZamVgEjQr5bQ8UNdr5ZpvMhcQxk","Expiration":"2026-12-02T12:00:00Z"}}"#;
const NOW: u64 = 1_767_225_600;

fn minted(c: &mut Criterion) {
    // A security token is about a kilobyte: the answer as STS sends it.
    let json = JSON.replace("Ylq", &"Ylq".repeat(300));
    let xml = format!(
        "<?xml version='1.0' encoding='UTF-8'?><AssumeRoleResponse><RequestId>6894B13B</RequestId><AssumedRoleUser><Arn>acs:ram::1:role/r</Arn></AssumedRoleUser><Credentials><AccessKeySecret>3dZn8Kya</AccessKeySecret><Expiration>2026-12-02T12:00:00Z</Expiration><AccessKeyId>STS.NTestMinted0001</AccessKeyId><SecurityToken>{}</SecurityToken></Credentials></AssumeRoleResponse>",
        "Ylq".repeat(300)
    );
    for (name, body) in [
        ("issued/assume_role_json", &json),
        ("issued/assume_role_xml", &xml),
    ] {
        assert!(
            matches!(read_issued(body.as_bytes(), true), Issued::Key { .. }),
            "{name}"
        );
        println!("{name}: answer of {} bytes", body.len());
        c.bench_function(name, |b| {
            b.iter(|| read_issued(black_box(body.as_bytes()), true))
        });
    }

    let mut full = MintedSet::default();
    for i in 0..MAX_MINTED {
        full.record(format!("STS.NTestMinted{i:06}").as_bytes(), NOW + 3600, NOW);
    }
    let bytes = full.to_bytes();
    println!(
        "minted: {} keys in {} bytes of shared data",
        MAX_MINTED,
        bytes.len()
    );
    assert!(full.contains(b"STS.NTestMinted000512", NOW));
    c.bench_function("minted/contains/1024", |b| {
        b.iter(|| full.contains(black_box(b"STS.NTestMinted000512"), NOW))
    });
    c.bench_function("minted/from_bytes/1024", |b| {
        b.iter(|| MintedSet::from_bytes(black_box(&bytes)))
    });
    let mut almost = MintedSet::from_bytes(&bytes[..bytes.len() - 16]);
    almost.record(b"STS.Other", NOW + 60, NOW);
    let almost = almost.to_bytes();
    c.bench_function("minted/record/1024", |b| {
        b.iter(|| {
            let mut set = MintedSet::from_bytes(black_box(&almost));
            set.record(b"STS.NTestNewKey0001", NOW + 3600, NOW);
            set.to_bytes()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(30);
    targets = minted
}
criterion_main!(benches);
