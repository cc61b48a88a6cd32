pub mod jwt;
pub mod keys;
pub mod password;
pub mod random;
