//! placeholder

pub mod stream {
    include!(concat!(env!("OUT_DIR"), "/spot_stream.rs"));
}
pub mod rest {
    include!(concat!(env!("OUT_DIR"), "/spot_rest.rs"));
}
