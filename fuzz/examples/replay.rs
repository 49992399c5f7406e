//! Runs fuzz inputs without libFuzzer: `cargo run --example replay -- <target> <file>...`
//! (set `OIDFED_FUZZ_DEBUG=1` to print what the harness saw).

fn main() {
    let mut args = std::env::args().skip(1);
    let target = args
        .next()
        .expect("usage: replay <jws|statement|policy|chain|json|historical|software_statement|registration_request> <file>...");
    let run: fn(&[u8]) = match target.as_str() {
        "jws" => oidfed_fuzz::run_jws,
        "statement" => oidfed_fuzz::run_statement,
        "policy" => oidfed_fuzz::run_policy,
        "chain" => oidfed_fuzz::run_chain,
        "json" => oidfed_fuzz::run_json,
        "historical" => oidfed_fuzz::run_historical,
        "software_statement" => oidfed_fuzz::run_software_statement,
        "registration_request" => oidfed_fuzz::run_registration_request,
        other => panic!("unknown target {other}"),
    };
    for path in args {
        let p = std::path::Path::new(&path);
        let files: Vec<std::path::PathBuf> = if p.is_dir() {
            let mut v: Vec<_> = std::fs::read_dir(p)
                .expect("read dir")
                .map(|e| e.expect("entry").path())
                .collect();
            v.sort();
            v
        } else {
            vec![p.to_path_buf()]
        };
        for f in files {
            eprintln!("== {}", f.display());
            run(&std::fs::read(&f).expect("read input"));
        }
    }
}
