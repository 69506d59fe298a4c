//! Alipay open API (gateway 1.0, RSA2). Filled in by the Alipay work.
