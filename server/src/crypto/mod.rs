pub mod jwt;
pub mod kek;
pub mod keys;
pub mod password;
pub mod random;
