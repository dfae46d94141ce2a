//! The parts of OpenSSH's client configuration (`~/.ssh/config`) that the tunnel honours.
//!
//! Understood: `Host` blocks (several patterns, `*`/`?` wildcards, `!` negation), `Match all`,
//! and the keywords `HostName`, `Port`, `User`, `IdentityFile` (with `~` and the `%d %h %r %u
//! %%` tokens), `IdentitiesOnly` (`yes` keeps the ssh-agent's keys out: only identity files are
//! offered) and `ProxyJump`. As in OpenSSH the first value found for a keyword wins, except
//! `IdentityFile`, which accumulates. Other keywords (`Include` among them), and `Match` blocks
//! with criteria other than `all`, are ignored.

use std::path::{Path, PathBuf};

use super::known_hosts::wildcard_match;

/// One hop of a `ProxyJump` list: `[user@]host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JumpHost {
    pub(crate) user: Option<String>,
    pub(crate) host: String,
    pub(crate) port: Option<u16>,
}

/// What the configuration says about one host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct HostConfig {
    pub(crate) host_name: Option<String>,
    pub(crate) port: Option<u16>,
    pub(crate) user: Option<String>,
    /// Raw `IdentityFile` values, in order (expanded by [`expand_path`]).
    pub(crate) identity_files: Vec<String>,
    pub(crate) identities_only: Option<bool>,
    /// `None` when not set; `Some(vec![])` for `ProxyJump none`.
    pub(crate) proxy_jump: Option<Vec<JumpHost>>,
}

#[derive(Debug, Clone)]
struct Block {
    /// `None` for the lines before the first `Host`/`Match` (they apply to every host).
    patterns: Option<Vec<String>>,
    options: Vec<(String, Vec<String>, usize)>,
}

/// A parsed configuration file.
#[derive(Debug, Clone)]
pub(crate) struct SshConfig {
    path: PathBuf,
    blocks: Vec<Block>,
}

impl SshConfig {
    /// Parse `text`, read from `path` (used in error messages).
    pub(crate) fn parse(text: &str, path: &Path) -> Result<SshConfig, String> {
        let mut blocks = vec![Block {
            patterns: None,
            options: Vec::new(),
        }];
        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            let words =
                split_line(raw).map_err(|m| format!("{}:{line_no}: {m}", path.display()))?;
            let Some((keyword, args)) = words.split_first() else {
                continue;
            };
            let keyword = keyword.to_ascii_lowercase();
            match keyword.as_str() {
                "host" => {
                    if args.is_empty() {
                        return Err(format!(
                            "{}:{line_no}: Host needs at least one pattern",
                            path.display()
                        ));
                    }
                    blocks.push(Block {
                        patterns: Some(args.iter().map(|a| a.to_ascii_lowercase()).collect()),
                        options: Vec::new(),
                    });
                }
                "match" => {
                    let all = args.len() == 1
                        && args.first().is_some_and(|a| a.eq_ignore_ascii_case("all"));
                    blocks.push(Block {
                        // A pattern no host name can match disables the block.
                        patterns: Some(vec![if all { "*".into() } else { "\0".into() }]),
                        options: Vec::new(),
                    });
                }
                _ => {
                    if args.is_empty() {
                        return Err(format!(
                            "{}:{line_no}: {keyword} needs a value",
                            path.display()
                        ));
                    }
                    if let Some(block) = blocks.last_mut() {
                        block.options.push((keyword, args.to_vec(), line_no));
                    }
                }
            }
        }
        Ok(SshConfig {
            path: path.to_path_buf(),
            blocks,
        })
    }

    /// Read and parse the file at `path`.
    pub(crate) fn read(path: &Path) -> Result<SshConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read SSH config {}: {e}", path.display()))?;
        SshConfig::parse(&text, path)
    }

    /// Everything the file says about `host` (the name as given, before `HostName`).
    pub(crate) fn lookup(&self, host: &str) -> Result<HostConfig, String> {
        let host = host.to_ascii_lowercase();
        let mut out = HostConfig::default();
        for block in &self.blocks {
            if let Some(patterns) = &block.patterns {
                if !host_matches(patterns, &host) {
                    continue;
                }
            }
            for (keyword, args, line) in &block.options {
                let first = args.first().map(String::as_str).unwrap_or_default();
                let at = |m: String| format!("{}:{line}: {m}", self.path.display());
                match keyword.as_str() {
                    "hostname" => {
                        out.host_name.get_or_insert_with(|| first.to_string());
                    }
                    "user" => {
                        out.user.get_or_insert_with(|| first.to_string());
                    }
                    "port" if out.port.is_none() => {
                        let port = first
                            .parse::<u16>()
                            .ok()
                            .filter(|p| *p != 0)
                            .ok_or_else(|| at(format!("bad Port {first:?}")))?;
                        out.port = Some(port);
                    }
                    "identityfile" => out.identity_files.push(first.to_string()),
                    "identitiesonly" if out.identities_only.is_none() => {
                        out.identities_only = Some(parse_yes_no(first).ok_or_else(|| {
                            at(format!("bad IdentitiesOnly {first:?} (yes or no)"))
                        })?);
                    }
                    "proxyjump" if out.proxy_jump.is_none() => {
                        out.proxy_jump = Some(parse_proxy_jump(first).map_err(at)?);
                    }
                    _ => {}
                }
            }
        }
        Ok(out)
    }
}

fn parse_yes_no(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "yes" | "true" => Some(true),
        "no" | "false" => Some(false),
        _ => None,
    }
}

/// `Host` semantics: some positive pattern matches and no negated one does.
fn host_matches(patterns: &[String], host: &str) -> bool {
    let mut matched = false;
    for pattern in patterns {
        if let Some(negated) = pattern.strip_prefix('!') {
            if wildcard_match(negated, host) {
                return false;
            }
        } else if wildcard_match(pattern, host) {
            matched = true;
        }
    }
    matched
}

/// Split a configuration line into words: `Keyword value`, `Keyword=value`, double quotes
/// group words, `#` starts a comment.
fn split_line(line: &str) -> Result<Vec<String>, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(Vec::new());
    }
    // The keyword may be separated from its value by `=`.
    let (keyword, rest) = match line.find(|c: char| c.is_whitespace() || c == '=') {
        Some(pos) => line.split_at(pos),
        None => (line, ""),
    };
    let rest = rest.trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest).trim_start();
    let mut words = vec![keyword.to_string()];
    let mut current = String::new();
    let mut in_word = false;
    let mut quoted = false;
    for c in rest.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                in_word = true;
            }
            '#' if !quoted && !in_word => break,
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            c => {
                current.push(c);
                in_word = true;
            }
        }
    }
    if quoted {
        return Err("unbalanced quote".into());
    }
    if in_word {
        words.push(current);
    }
    Ok(words)
}

/// Parse `[user@]host[:port]` (with `[v6]:port`).
pub(crate) fn parse_user_host_port(spec: &str) -> Result<JumpHost, String> {
    let (user, host_port) = match spec.rsplit_once('@') {
        Some((user, rest)) if !user.is_empty() => (Some(user.to_string()), rest),
        Some(_) => return Err(format!("empty user name in {spec:?}")),
        None => (None, spec),
    };
    let (host, port) = split_host_port(host_port)
        .ok_or_else(|| format!("cannot understand host {spec:?} (expected [user@]host[:port])"))?;
    Ok(JumpHost { user, host, port })
}

/// Split `host`, `host:port`, `[host]:port` or a bare IPv6 address.
pub(crate) fn split_host_port(s: &str) -> Option<(String, Option<u16>)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        if host.is_empty() {
            return None;
        }
        return match after {
            "" => Some((host.to_string(), None)),
            p => {
                let port = p
                    .strip_prefix(':')?
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)?;
                Some((host.to_string(), Some(port)))
            }
        };
    }
    if s.is_empty() || s.contains(char::is_whitespace) {
        return None;
    }
    match s.matches(':').count() {
        0 => Some((s.to_string(), None)),
        1 => {
            let (host, port) = s.split_once(':')?;
            if host.is_empty() {
                return None;
            }
            let port = port.parse::<u16>().ok().filter(|p| *p != 0)?;
            Some((host.to_string(), Some(port)))
        }
        // An IPv6 address without brackets has no port.
        _ => Some((s.to_string(), None)),
    }
}

fn parse_proxy_jump(value: &str) -> Result<Vec<JumpHost>, String> {
    if value.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    value
        .split(',')
        .map(|hop| {
            let hop = hop.trim();
            let hop = hop.strip_prefix("ssh://").unwrap_or(hop);
            parse_user_host_port(hop).map_err(|e| format!("bad ProxyJump: {e}"))
        })
        .collect()
}

/// Expand `~` and the `%d %h %r %u %%` tokens of an `IdentityFile` value.
pub(crate) fn expand_path(
    raw: &str,
    home: Option<&Path>,
    host: &str,
    remote_user: &str,
) -> Result<PathBuf, String> {
    let home_str = home.map(|h| h.display().to_string());
    let mut out = String::new();
    let rest = if raw == "~" || raw.starts_with("~/") {
        let home = home_str
            .as_deref()
            .ok_or_else(|| format!("cannot expand {raw:?}: HOME is not set"))?;
        out.push_str(home);
        raw.get(1..).unwrap_or_default()
    } else {
        raw
    };
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('h') => out.push_str(host),
            Some('r') => out.push_str(remote_user),
            Some('d') => out.push_str(
                home_str
                    .as_deref()
                    .ok_or_else(|| format!("cannot expand {raw:?}: HOME is not set"))?,
            ),
            Some('u') => out.push_str(&local_user()),
            Some(other) => return Err(format!("unsupported token %{other} in {raw:?}")),
            None => return Err(format!("trailing % in {raw:?}")),
        }
    }
    Ok(PathBuf::from(out))
}

fn local_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
# global defaults come first in OpenSSH files too
IdentityFile ~/.ssh/global_key

Host bastion
    HostName bastion.example.com
    User ops
    Port 2200

Host *.fleet !legacy.fleet
    User core
    IdentityFile "~/.ssh/fleet key"
    ProxyJump bastion,admin@gw2:2022

Host legacy.fleet
    HostName=10.1.2.3
    Port=22

Host core-?
    HostName %h.internal
    IdentityFile %d/.ssh/%r@%h

Match exec "true"
    User never

Match all
    User fallback
    Port 2201
"#;

    fn parsed() -> SshConfig {
        SshConfig::parse(SAMPLE, Path::new("/sample/config")).unwrap()
    }

    #[test]
    fn host_block_values_and_first_wins() {
        let c = parsed().lookup("bastion").unwrap();
        assert_eq!(c.host_name.as_deref(), Some("bastion.example.com"));
        assert_eq!(c.user.as_deref(), Some("ops"));
        assert_eq!(c.port, Some(2200));
        assert_eq!(c.identity_files, vec!["~/.ssh/global_key"]);
        assert_eq!(c.proxy_jump, None);
    }

    #[test]
    fn wildcards_negation_and_proxy_jump() {
        let c = parsed().lookup("node1.fleet").unwrap();
        assert_eq!(c.user.as_deref(), Some("core"));
        assert_eq!(c.port, Some(2201), "from Match all");
        assert_eq!(
            c.identity_files,
            vec!["~/.ssh/global_key", "~/.ssh/fleet key"]
        );
        assert_eq!(
            c.proxy_jump,
            Some(vec![
                JumpHost {
                    user: None,
                    host: "bastion".into(),
                    port: None
                },
                JumpHost {
                    user: Some("admin".into()),
                    host: "gw2".into(),
                    port: Some(2022)
                },
            ])
        );
        let legacy = parsed().lookup("legacy.fleet").unwrap();
        assert_eq!(legacy.user.as_deref(), Some("fallback"));
        assert_eq!(legacy.host_name.as_deref(), Some("10.1.2.3"));
        assert_eq!(legacy.port, Some(22));
        assert_eq!(legacy.proxy_jump, None);
    }

    #[test]
    fn question_mark_pattern_and_unmatched_host() {
        let c = parsed().lookup("core-1").unwrap();
        assert_eq!(c.host_name.as_deref(), Some("%h.internal"));
        assert!(parsed().lookup("core-12").unwrap().host_name.is_none());
        let other = parsed().lookup("elsewhere").unwrap();
        assert_eq!(other.user.as_deref(), Some("fallback"));
        assert_eq!(other.port, Some(2201));
    }

    #[test]
    fn host_names_match_case_insensitively() {
        assert_eq!(
            parsed().lookup("BASTION").unwrap().user.as_deref(),
            Some("ops")
        );
    }

    #[test]
    fn errors_name_file_and_line() {
        let err = SshConfig::parse("Host x\n  Port nine\n", Path::new("/c"))
            .unwrap()
            .lookup("x")
            .unwrap_err();
        assert_eq!(err, "/c:2: bad Port \"nine\"");
        let err = SshConfig::parse("Host x\nUser \"open\n", Path::new("/c")).unwrap_err();
        assert_eq!(err, "/c:2: unbalanced quote");
        let err = SshConfig::parse("Host\n", Path::new("/c")).unwrap_err();
        assert_eq!(err, "/c:1: Host needs at least one pattern");
        let err = SshConfig::parse("Host x\nProxyJump a@\n", Path::new("/c"))
            .unwrap()
            .lookup("x")
            .unwrap_err();
        assert!(err.starts_with("/c:2: bad ProxyJump"), "{err}");
    }

    #[test]
    fn proxy_jump_none_disables() {
        let c = SshConfig::parse(
            "Host a\nProxyJump none\nHost *\nProxyJump b\n",
            Path::new("/c"),
        )
        .unwrap()
        .lookup("a")
        .unwrap();
        assert_eq!(c.proxy_jump, Some(vec![]));
    }

    #[test]
    fn path_expansion() {
        let home = Path::new("/home/me");
        assert_eq!(
            expand_path("~/.ssh/id", Some(home), "h", "r").unwrap(),
            PathBuf::from("/home/me/.ssh/id")
        );
        assert_eq!(
            expand_path("%d/.ssh/%r@%h%%", Some(home), "node", "core").unwrap(),
            PathBuf::from("/home/me/.ssh/core@node%")
        );
        assert!(expand_path("~/x", None, "h", "r").is_err());
        assert!(expand_path("/x/%z", Some(home), "h", "r").is_err());
    }

    #[test]
    fn host_port_forms() {
        assert_eq!(split_host_port("h"), Some(("h".into(), None)));
        assert_eq!(split_host_port("h:2222"), Some(("h".into(), Some(2222))));
        assert_eq!(split_host_port("[::1]:22"), Some(("::1".into(), Some(22))));
        assert_eq!(split_host_port("::1"), Some(("::1".into(), None)));
        assert_eq!(split_host_port("h:0"), None);
        assert_eq!(split_host_port("h:x"), None);
        assert_eq!(split_host_port(""), None);
        assert_eq!(
            parse_user_host_port("core@10.0.0.1:2022").unwrap(),
            JumpHost {
                user: Some("core".into()),
                host: "10.0.0.1".into(),
                port: Some(2022)
            }
        );
    }
}
