//! HTTP scenarios against the real binary: one module per area of the API.
//! Every expectation was read off PocketBase 0.40.6 (see `common` for how to rerun them there).

mod common;

mod api {
    mod auth;
    mod auth_flows;
    mod auth_security;
    mod batch;
    mod collections;
    mod errors;
    mod files;
    mod filter_fixtures;
    mod filters;
    mod health;
    mod logs;
    mod oauth2;
    mod query_extras;
    mod realtime;
    mod records;
    mod relations;
    mod rules;
    mod schema_tools;
    mod settings;
    mod views;
}
