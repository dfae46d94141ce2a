//! OpenSSH `known_hosts` files: parsing, looking a host up, and appending a new key.
//!
//! Supported: plain host patterns (comma-separated, `*`/`?` wildcards, `!` negation),
//! `[host]:port` for non-standard ports, hashed names (`|1|salt|hash`, HMAC-SHA1), and the
//! `@revoked` marker. `@cert-authority` lines are recognised and skipped (host certificates are
//! not checked). Comments, blank lines and lines that cannot be understood are skipped, so a
//! file written by OpenSSH is never mis-read as trusting a key it does not trust.

use std::fmt;
use std::io::Write as _;
use std::path::Path;

use base64::Engine as _;
use sha1::{Digest as _, Sha1};

/// The name under which a host's keys are stored: `host` on port 22, `[host]:port` otherwise.
pub(crate) fn host_id(host: &str, port: u16) -> String {
    let host = host.to_ascii_lowercase();
    if port == 22 {
        host
    } else {
        format!("[{host}]:{port}")
    }
}

/// What a known-hosts file says about a host and the key it presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The key is listed for the host (on the given 1-based line).
    Known { line: usize },
    /// No key of this type is listed for the host.
    Unknown,
    /// The host is listed with a different key of the same type (first such line).
    Changed { line: usize },
    /// The key is marked `@revoked`.
    Revoked { line: usize },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Names {
    Plain(Vec<String>),
    Hashed { salt: Vec<u8>, hash: Vec<u8> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Marker {
    None,
    Revoked,
    CertAuthority,
}

#[derive(Debug, Clone)]
struct Entry {
    line: usize,
    marker: Marker,
    names: Names,
    algorithm: String,
    blob: Vec<u8>,
}

/// A parsed known-hosts file.
#[derive(Debug, Clone, Default)]
pub(crate) struct KnownHosts {
    entries: Vec<Entry>,
}

/// A host key as presented by a server, in wire form.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct HostKey {
    /// The algorithm name, such as `ssh-ed25519`.
    pub(crate) algorithm: String,
    /// The public key blob (the base64-decoded middle field of a known-hosts line).
    pub(crate) blob: Vec<u8>,
}

impl fmt::Debug for HostKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HostKey({} {})", self.algorithm, self.fingerprint())
    }
}

impl HostKey {
    /// The key of a server, from russh.
    pub(crate) fn from_public_key(key: &russh::keys::PublicKey) -> Option<HostKey> {
        Some(HostKey {
            algorithm: key.algorithm().as_str().to_string(),
            blob: key.to_bytes().ok()?,
        })
    }

    /// The key's SHA-256 fingerprint as OpenSSH prints it (`SHA256:` and unpadded base64).
    pub(crate) fn fingerprint(&self) -> String {
        match russh::keys::PublicKey::from_bytes(&self.blob) {
            Ok(key) => key.fingerprint(russh::keys::HashAlg::Sha256).to_string(),
            Err(_) => format!("(undecodable {} key)", self.algorithm),
        }
    }

    /// The key as it appears after the host names on a known-hosts line.
    pub(crate) fn to_line_suffix(&self) -> String {
        format!(
            "{} {}",
            self.algorithm,
            base64::engine::general_purpose::STANDARD.encode(&self.blob)
        )
    }
}

impl KnownHosts {
    /// Parse the text of a known-hosts file. Lines that cannot be understood are skipped.
    pub(crate) fn parse(text: &str) -> KnownHosts {
        let entries = text
            .lines()
            .enumerate()
            .filter_map(|(i, line)| parse_line(i + 1, line))
            .collect();
        KnownHosts { entries }
    }

    /// Read and parse a known-hosts file; a missing file is an empty one.
    pub(crate) fn read(path: &Path) -> std::io::Result<KnownHosts> {
        match std::fs::read(path) {
            Ok(bytes) => Ok(KnownHosts::parse(&String::from_utf8_lossy(&bytes))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(KnownHosts::default()),
            Err(e) => Err(e),
        }
    }

    /// Look up `host_id` (as made by [`host_id`]) presenting `key`.
    pub(crate) fn check(&self, host_id: &str, key: &HostKey) -> Verdict {
        let host_id = host_id.to_ascii_lowercase();
        let mut known = None;
        let mut changed = None;
        for entry in &self.entries {
            let same_key = entry.algorithm == key.algorithm && entry.blob == key.blob;
            if entry.marker == Marker::Revoked {
                if same_key {
                    return Verdict::Revoked { line: entry.line };
                }
                continue;
            }
            if entry.marker == Marker::CertAuthority || !entry.names.matches(&host_id) {
                continue;
            }
            if same_key {
                known.get_or_insert(entry.line);
            } else if entry.algorithm == key.algorithm {
                changed.get_or_insert(entry.line);
            }
        }
        match (known, changed) {
            (Some(line), _) => Verdict::Known { line },
            (None, Some(line)) => Verdict::Changed { line },
            (None, None) => Verdict::Unknown,
        }
    }

    /// Number of entries understood (for tests and diagnostics).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Append `host_id key` to the file at `path`, creating the file (mode 0600) and its directory
/// (mode 0700) when missing. Existing lines are left untouched; a missing final newline is added
/// before the new line.
pub(crate) fn append(path: &Path, host_id: &str, key: &HostKey) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt as _;
                builder.mode(0o700);
            }
            builder.create(dir)?;
        }
    }
    let needs_newline = match std::fs::read(path) {
        Ok(bytes) => bytes.last().is_some_and(|b| *b != b'\n'),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(e),
    };
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    let mut line = String::new();
    if needs_newline {
        line.push('\n');
    }
    line.push_str(host_id);
    line.push(' ');
    line.push_str(&key.to_line_suffix());
    line.push('\n');
    file.write_all(line.as_bytes())?;
    file.sync_all()
}

fn parse_line(line_no: usize, line: &str) -> Option<Entry> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let mut fields = line.split_whitespace();
    let mut first = fields.next()?;
    let marker = match first {
        "@revoked" => Marker::Revoked,
        "@cert-authority" => Marker::CertAuthority,
        m if m.starts_with('@') => return None,
        _ => Marker::None,
    };
    if marker != Marker::None {
        first = fields.next()?;
    }
    let algorithm = fields.next()?.to_string();
    let blob = base64::engine::general_purpose::STANDARD
        .decode(fields.next()?)
        .ok()?;
    let names = if let Some(rest) = first.strip_prefix("|1|") {
        let (salt, hash) = rest.split_once('|')?;
        let engine = base64::engine::general_purpose::STANDARD;
        Names::Hashed {
            salt: engine.decode(salt).ok()?,
            hash: engine.decode(hash).ok()?,
        }
    } else if first.starts_with('|') {
        return None;
    } else {
        Names::Plain(first.split(',').map(|p| p.to_ascii_lowercase()).collect())
    };
    Some(Entry {
        line: line_no,
        marker,
        names,
        algorithm,
        blob,
    })
}

impl Names {
    fn matches(&self, host_id: &str) -> bool {
        match self {
            Names::Hashed { salt, hash } => hmac_sha1(salt, host_id.as_bytes()).as_slice() == hash,
            Names::Plain(patterns) => {
                let mut matched = false;
                for pattern in patterns {
                    if let Some(negated) = pattern.strip_prefix('!') {
                        if wildcard_match(negated, host_id) {
                            return false;
                        }
                    } else if wildcard_match(pattern, host_id) {
                        matched = true;
                    }
                }
                matched
            }
        }
    }
}

/// Hash a host name the way OpenSSH's `HashKnownHosts` does (for tests and for writing).
#[cfg(test)]
pub(crate) fn hash_name(salt: &[u8], host_id: &str) -> String {
    let engine = base64::engine::general_purpose::STANDARD;
    format!(
        "|1|{}|{}",
        engine.encode(salt),
        engine.encode(hmac_sha1(salt, host_id.as_bytes()))
    )
}

/// HMAC-SHA1 (RFC 2104), as used by OpenSSH for hashed known-hosts names.
fn hmac_sha1(key: &[u8], message: &[u8]) -> [u8; 20] {
    const BLOCK: usize = 64;
    let mut block_key = [0u8; BLOCK];
    if key.len() > BLOCK {
        let digest = Sha1::digest(key);
        for (dst, src) in block_key.iter_mut().zip(digest.iter()) {
            *dst = *src;
        }
    } else {
        for (dst, src) in block_key.iter_mut().zip(key.iter()) {
            *dst = *src;
        }
    }
    let mut inner = Sha1::new();
    inner.update(block_key.map(|b| b ^ 0x36));
    inner.update(message);
    let inner = inner.finalize();
    let mut outer = Sha1::new();
    outer.update(block_key.map(|b| b ^ 0x5c));
    outer.update(inner);
    outer.finalize().into()
}

/// OpenSSH-style glob: `*` matches any run of characters, `?` exactly one.
pub(crate) fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(c) if *c == '?' || Some(c) == t.get(ti) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    while p.get(pi) == Some(&'*') {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(algorithm: &str, blob: &[u8]) -> HostKey {
        HostKey {
            algorithm: algorithm.into(),
            blob: blob.to_vec(),
        }
    }

    fn line(names: &str, k: &HostKey) -> String {
        format!("{names} {}\n", k.to_line_suffix())
    }

    #[test]
    fn hmac_sha1_matches_rfc2202() {
        // RFC 2202 test case 2.
        let mac = hmac_sha1(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
        // RFC 2202 test case 6: key longer than the block.
        let mac = hmac_sha1(
            &[0xaa; 80],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
        );
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "aa4ae5e15272d00e95705637ce8a3b55ed402112");
    }

    #[test]
    fn hashed_names_match_an_independent_hmac() {
        // Hashes computed with Python's hmac module for this salt.
        let k = key("ssh-ed25519", b"k");
        let text = format!(
            "|1|F1E1KeoE/eEWhi10WpGv4OdiO6Y=|WbiS+qaiNQRLKdjJb0LsA6cm7IA= {}\n\
             |1|F1E1KeoE/eEWhi10WpGv4OdiO6Y=|PJ5ClgPEufWufhUr8b3hIghHp58= {}\n",
            k.to_line_suffix(),
            k.to_line_suffix()
        );
        let kh = KnownHosts::parse(&text);
        assert_eq!(kh.check("example.com", &k), Verdict::Known { line: 1 });
        assert_eq!(
            kh.check(&host_id("example.com", 2222), &k),
            Verdict::Known { line: 2 }
        );
        assert_eq!(kh.check("example.org", &k), Verdict::Unknown);
        let salt = base64::engine::general_purpose::STANDARD
            .decode("F1E1KeoE/eEWhi10WpGv4OdiO6Y=")
            .unwrap();
        assert_eq!(
            hash_name(&salt, "example.com"),
            "|1|F1E1KeoE/eEWhi10WpGv4OdiO6Y=|WbiS+qaiNQRLKdjJb0LsA6cm7IA="
        );
    }

    #[test]
    fn plain_patterns_ports_and_negation() {
        let k = key("ssh-ed25519", b"k1");
        let text = line("alpha.example,10.0.0.1", &k)
            + &line("[beta.example]:2222", &k)
            + &line("*.corp,!secret.corp", &k);
        let kh = KnownHosts::parse(&text);
        assert_eq!(kh.len(), 3);
        assert_eq!(kh.check("alpha.example", &k), Verdict::Known { line: 1 });
        assert_eq!(kh.check("10.0.0.1", &k), Verdict::Known { line: 1 });
        assert_eq!(kh.check("ALPHA.example", &k), Verdict::Known { line: 1 });
        assert_eq!(
            kh.check(&host_id("beta.example", 2222), &k),
            Verdict::Known { line: 2 }
        );
        assert_eq!(kh.check("beta.example", &k), Verdict::Unknown);
        assert_eq!(kh.check("www.corp", &k), Verdict::Known { line: 3 });
        assert_eq!(kh.check("secret.corp", &k), Verdict::Unknown);
    }

    #[test]
    fn changed_key_of_same_type_is_detected_other_type_is_unknown() {
        let old = key("ssh-ed25519", b"old");
        let new = key("ssh-ed25519", b"new");
        let rsa = key("ssh-rsa", b"rsa");
        let kh = KnownHosts::parse(&("# comment\n\n".to_string() + &line("host", &old)));
        assert_eq!(kh.check("host", &new), Verdict::Changed { line: 3 });
        assert_eq!(kh.check("host", &rsa), Verdict::Unknown);
        assert_eq!(kh.check("host", &old), Verdict::Known { line: 3 });
    }

    #[test]
    fn markers_are_not_misparsed() {
        let k = key("ssh-ed25519", b"k");
        let text = format!(
            "@cert-authority *.example {}\n@revoked * {}\n@unknown-marker host {}\n",
            k.to_line_suffix(),
            key("ssh-ed25519", b"bad").to_line_suffix(),
            k.to_line_suffix()
        );
        let kh = KnownHosts::parse(&text);
        // A CA line is not a host key for the names it lists.
        assert_eq!(kh.check("a.example", &k), Verdict::Unknown);
        assert_eq!(kh.check("host", &k), Verdict::Unknown);
        assert_eq!(
            kh.check("anything", &key("ssh-ed25519", b"bad")),
            Verdict::Revoked { line: 2 }
        );
    }

    #[test]
    fn garbage_lines_are_skipped() {
        let k = key("ssh-ed25519", b"k");
        let text = format!(
            "host\nhost ssh-ed25519 !!notbase64!!\n|2|x|y {}\n{}",
            k.to_line_suffix(),
            line("host", &k)
        );
        let kh = KnownHosts::parse(&text);
        assert_eq!(kh.len(), 1);
        assert_eq!(kh.check("host", &k), Verdict::Known { line: 4 });
    }

    #[test]
    fn append_creates_dir_and_file_and_keeps_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("known_hosts");
        let k = key("ssh-ed25519", b"k");
        append(&path, "[h]:2022", &k).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let mode = std::fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        // A file without a final newline keeps its last line intact.
        std::fs::write(&path, "# mine\nother ssh-ed25519 AAAA").unwrap();
        append(&path, "h", &k).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            format!("# mine\nother ssh-ed25519 AAAA\nh {}\n", k.to_line_suffix())
        );
        assert_eq!(
            KnownHosts::read(&path).unwrap().check("h", &k),
            Verdict::Known { line: 3 }
        );
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*", "anything"));
        assert!(wildcard_match("a?c", "abc"));
        assert!(!wildcard_match("a?c", "abbc"));
        assert!(wildcard_match("*.example.*", "x.example.com"));
        assert!(!wildcard_match("*.example", "example"));
        assert!(wildcard_match("10.0.*.1", "10.0.200.1"));
    }
}
