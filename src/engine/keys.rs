//! Every storage key the service writes, built here and nowhere else: KV records and
//! indexes, and R2 object keys.

/// KV: a file's record (JSON [`super::files::FileRecord`]).
pub fn file(id: &str) -> String {
    format!("file:{id}")
}

/// KV: a tenant's `sha256 → file` index.
pub fn digest(tenant: &str, sha256: &str) -> String {
    format!("sha256:{tenant}:{sha256}")
}

/// KV: the public index of files reachable by digest without credentials (PortSIP blobs),
/// by sha256 or by their opaque id.
pub fn public_blob(key: &str) -> String {
    format!("blob:{key}")
}

/// R2: the object holding a file's bytes.
pub fn object(tenant: &str, id: &str) -> String {
    format!("t/{tenant}/f/{id}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_are_namespaced() {
        assert_eq!(super::file("a"), "file:a");
        assert_eq!(super::digest("acme", "ab"), "sha256:acme:ab");
        assert_eq!(super::public_blob("ab"), "blob:ab");
        assert_eq!(super::object("acme", "a"), "t/acme/f/a");
    }
}
