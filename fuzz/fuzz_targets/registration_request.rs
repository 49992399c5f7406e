#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    oidfed_fuzz::run_registration_request(data);
});
