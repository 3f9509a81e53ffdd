//! The sample record reader on arbitrary bytes: anything that is not a
//! complete record of the sample reads as absent or damaged, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shardgen::record::{parse_record, RecordRead};

fuzz_target!(|data: &[u8]| {
    let id = data.first().map_or(0, |&b| u64::from(b));
    if let RecordRead::Valid(record) = parse_record(data, id) {
        assert_eq!(record.sample, id);
        assert_eq!(record.format, shardgen::record::RECORD_FORMAT);
    }
});
