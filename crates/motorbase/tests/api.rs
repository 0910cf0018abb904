//! HTTP scenarios against the real binary: one module per area of the API.
//! Every expectation was read off PocketBase 0.40.6 (see `common` for how to rerun them there).

mod common;

mod api {
    mod auth;
    mod batch;
    mod auth_flows;
    mod collections;
    mod errors;
    mod filter_fixtures;
    mod files;
    mod filters;
    mod health;
    mod realtime;
    mod records;
    mod rules;
    mod settings;
}
