//! WeChat Pay API v3 (direct merchant). Filled in by the WeChat work.
