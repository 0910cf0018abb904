//! Placeholder module: the WebSocket transport is added with its own commit.
