/// `N` bytes from the operating system's CSPRNG.
///
/// Panics only if the OS has no randomness to give, in which case no secret this server
/// could make would be safe either.
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut buf).expect("operating system randomness is unavailable");
    buf
}
