//! `/api/realtime`: PocketBase's SSE protocol (connect, then POST the subscriptions), and
//! `/api/realtime/ws`, the same topics over one WebSocket.

pub mod connect;
pub mod subscribe;
pub mod ws;
