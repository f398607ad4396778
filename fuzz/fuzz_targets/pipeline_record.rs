//! Any bytes given to the Kinesis record reader: typed errors or events, never a panic; every event
//! that decodes re-encodes to a record that reads back identically.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pipeline_events::{RecordBuilder, RecordReader};

fuzz_target!(|data: &[u8]| {
    let Ok(reader) = RecordReader::new(data) else { return };
    let mut rebuilt = RecordBuilder::new(reader.producer_id(), reader.batch_sequence(), 0, usize::MAX);
    let mut owned = Vec::new();
    for ev in reader.events() {
        let Ok(ev) = ev else { continue };
        let o = ev.to_owned_event();
        rebuilt.push(&o.as_event()).expect("a decoded event re-encodes");
        owned.push(o);
    }
    let again = RecordReader::new(rebuilt.as_bytes()).expect("rebuilt record reads");
    let back: Vec<_> = again.events().map(|e| e.expect("rebuilt event decodes").to_owned_event()).collect();
    assert_eq!(back, owned);
});
