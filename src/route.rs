//! Routing is data. Each dialect declares its endpoints once, as a table of [`Endpoint`]s:
//! method, path pattern, auth, body handling, a one-line description. [`find`] is a pure
//! function from (method, path) to a row of one of those tables, or to the `404`/`405` of the
//! dialect whose part of the URL space the path is in (so that each answers in its own shape
//! and with the right `Allow`). The OpenAPI document ([`crate::dialect::openapi`]) is
//! generated from the same tables.
//!
//! # Rows
//! A row is one `row!` call: the method and the path, the operation (the dialect's own, in
//! its variant of the router's op, which the dialect's module imports: `use super::Op::Tus;`),
//! its [`Auth`] and [`BodyUse`] (by their variants' names), and the description; then, where
//! the API document says more than [`Spec::DEFAULT`], `.with(spec)`:
//!
//! ```text
//! row!(Get "/sessions", NgcpSessions(Op::List), Tenant, None, "The tenant's live sessions."),
//! row!(Get "/sessions/{sid}", NgcpSessions(Op::Get), Tenant, None, "One session.")
//!     .with(Spec::DEFAULT.errors(&[410])),
//! row!(Put "/sessions/{sid}/files/{fid}", NgcpSessions(Op::PutFile), Tenant, Read,
//!     "Store a file entry's content: a multipart `file` field or a raw body; once.")
//! .with(Spec::DEFAULT.takes(&["multipart/form-data", "application/octet-stream"]).errors(&[409, 410])),
//! ```
//!
//! A row is one line where it fits in 120 columns (rustfmt's width). Else its `.with(...)`
//! goes on the next line, and a description that does not fit after the rest goes on a line
//! of its own (a longer one on more, broken with a string's `\`); rustfmt places the
//! `.with(...)` and keeps the macro's arguments as they are written.
//!
//! # Path parameters
//! A path's `{name}` segments name [`PathParam`]s: a row whose path has a `{name}` that is not
//! one (or has one twice, or a brace elsewhere) does not compile, for the tables are constants
//! and [`endpoint`] checks its path. Handlers read them by that type, never by a string:
//! `req.params.get(PathParam::Sid)` ([`Params::get`]), or `req.path_uuid(PathParam::Id,
//! NOT_FOUND)?` for a uuid ([`Request::path_uuid`](crate::dialect::Request::path_uuid)).
//! Asking for one that the route's path does not have is a bug a debug build (the tests)
//! panics on.

/// HTTP methods the service knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
    Other,
}

impl Method {
    pub fn parse(m: &str) -> Method {
        match m.trim().to_ascii_uppercase().as_str() {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            _ => Method::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Other => "OTHER",
        }
    }
}

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Nobody needs credentials, and none are looked at (health, CORS preflight).
    None,
    /// A tenant's credentials (Basic or Bearer); `401` without.
    Tenant,
    /// A tenant's credentials if sent and valid; anonymous otherwise.
    Optional,
    /// The path holds the credential (a share link's id): no other is looked at, and the
    /// path's parameters are not written to logs.
    Capability,
    /// As [`Auth::Capability`], for a credential that can be revoked (a session's download
    /// token): what it serves never goes through a shared cache.
    RevocableCapability,
    /// The dialect reads its own credentials (OpenTera tokens, Twake JWTs) and refuses in
    /// its own shape.
    Own,
    /// The operator's token (`Authorization: Bearer`, `EDGESHARE_ADMIN_CREDENTIALS`): `401`
    /// without, `403` for a tenant's credentials. No tenant is the caller.
    Admin,
}

/// What an endpoint does with the request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyUse {
    /// Nothing; an unexpected body is ignored.
    None,
    /// Read in the worker (a multipart form).
    Read,
    /// Streamed untouched to the upload's Durable Object.
    Forward,
}

/// One row of a dialect's table.
#[derive(Debug)]
pub struct Endpoint<Op: 'static> {
    pub op: Op,
    pub method: Method,
    /// `/files/{id}`: literal segments and `{name}` parameters (never empty). A trailing
    /// slash in a request is ignored.
    pub path: &'static str,
    pub auth: Auth,
    pub body: BodyUse,
    pub doc: &'static str,
    /// What the API document says beyond the above.
    pub spec: Spec,
}

/// A row of a table (a `const fn`, for the tables are constants; tables write it as `row!`).
/// Panics, so that a table does not compile, if `path` has a `{name}` segment that is not a
/// [`PathParam`], the same one twice, or a brace anywhere else.
pub const fn endpoint<Op>(
    op: Op,
    method: Method,
    path: &'static str,
    auth: Auth,
    body: BodyUse,
    doc: &'static str,
) -> Endpoint<Op> {
    check_path(path);
    Endpoint { op, method, path, auth, body, doc, spec: Spec::DEFAULT }
}

/// A row of a table on one line: `row!(Method "path", op, Auth, BodyUse, doc)`, the method,
/// auth and body use by their variants' names; [`endpoint`] with those.
macro_rules! row {
    ($method:ident $path:expr, $op:expr, $auth:ident, $body:ident, $doc:expr $(,)?) => {
        $crate::route::endpoint(
            $op,
            $crate::route::Method::$method,
            $path,
            $crate::route::Auth::$auth,
            $crate::route::BodyUse::$body,
            $doc,
        )
    };
}
pub(crate) use row;

/// The path parameters the tables use: a path's `{name}` segment is one of these, by its
/// [`name`](PathParam::name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathParam {
    /// `{id}`: a file's, an upload's or an object's id.
    Id,
    /// `{token}`: a share link's token.
    Token,
    /// `{sid}`: a session's id (NGCP's, or an IMiS upload session's).
    Sid,
    /// `{fid}`: a file entry of an NGCP session.
    Fid,
    /// `{tid}`: a download token of an NGCP session's file.
    Tid,
    /// `{digest}`: a PortSIP blob's digest or opaque id.
    Digest,
    /// `{aid}`: an IMiS archive.
    Aid,
    /// `{entity}`: an IMiS entity handle.
    Entity,
    /// `{cid}`: a Twake company.
    Cid,
    /// `{index}`: a Twake thumbnail's number.
    Index,
    /// `{tenant}`: a tenant's id (the admin API).
    Tenant,
    /// `{key}`: a tenant's key's id (the admin API).
    Key,
}

impl PathParam {
    pub const ALL: [PathParam; 12] = [
        PathParam::Id,
        PathParam::Token,
        PathParam::Sid,
        PathParam::Fid,
        PathParam::Tid,
        PathParam::Digest,
        PathParam::Aid,
        PathParam::Entity,
        PathParam::Cid,
        PathParam::Index,
        PathParam::Tenant,
        PathParam::Key,
    ];

    /// As a path writes it between braces.
    pub const fn name(self) -> &'static str {
        match self {
            PathParam::Id => "id",
            PathParam::Token => "token",
            PathParam::Sid => "sid",
            PathParam::Fid => "fid",
            PathParam::Tid => "tid",
            PathParam::Digest => "digest",
            PathParam::Aid => "aid",
            PathParam::Entity => "entity",
            PathParam::Cid => "cid",
            PathParam::Index => "index",
            PathParam::Tenant => "tenant",
            PathParam::Key => "key",
        }
    }

    /// The parameter named `path[start..end]`, if any.
    const fn named(path: &[u8], start: usize, end: usize) -> Option<PathParam> {
        let mut k = 0;
        while k < PathParam::ALL.len() {
            let name = PathParam::ALL[k].name().as_bytes();
            if name.len() == end - start {
                let mut i = 0;
                while i < name.len() && name[i] == path[start + i] {
                    i += 1;
                }
                if i == name.len() {
                    return Some(PathParam::ALL[k]);
                }
            }
            k += 1;
        }
        None
    }

    /// The parameter of that name, if any.
    pub const fn parse(name: &str) -> Option<PathParam> {
        PathParam::named(name.as_bytes(), 0, name.len())
    }
}

/// Panics unless every brace of `path` is in a whole `{name}` segment that names a
/// [`PathParam`], each at most once.
const fn check_path(path: &str) {
    let b = path.as_bytes();
    let mut seen = 0u32;
    let mut i = 0;
    while i < b.len() {
        let start = i;
        let mut braces = false;
        while i < b.len() && b[i] != b'/' {
            braces |= b[i] == b'{' || b[i] == b'}';
            i += 1;
        }
        if braces {
            let whole = i - start >= 2 && b[start] == b'{' && b[i - 1] == b'}';
            let Some(p) = (if whole { PathParam::named(b, start + 1, i - 1) } else { None }) else {
                panic!("a path's braces make whole segments, each naming a PathParam");
            };
            let bit = 1u32 << p as u32;
            assert!(seen & bit == 0, "a path names a path parameter once");
            seen |= bit;
        }
        i += 1;
    }
}

impl<Op: Copy> Endpoint<Op> {
    /// The row with its API document details.
    pub const fn with(self, spec: Spec) -> Endpoint<Op> {
        Endpoint { spec, ..self }
    }
}

/// The type of a parameter's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    Int,
    Bool,
}

/// A query or header parameter of an endpoint, for the API document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    pub name: &'static str,
    pub required: bool,
    pub kind: Kind,
    pub doc: &'static str,
}

/// An optional parameter.
pub const fn opt(name: &'static str, kind: Kind, doc: &'static str) -> Param {
    Param { name, required: false, kind, doc }
}

/// A required parameter.
pub const fn req(name: &'static str, kind: Kind, doc: &'static str) -> Param {
    Param { name, required: true, kind, doc }
}

/// What an answer carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    /// No body.
    Empty,
    Json,
    /// A file's bytes, of its own type.
    Bytes,
    Html,
}

/// What the API document says of an endpoint: its query and header parameters, the media
/// types of its request body, its successful answers, and the error statuses particular to
/// it (those that follow from its auth, path and body are added by the document).
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub query: &'static [Param],
    pub headers: &'static [Param],
    pub takes: &'static [&'static str],
    pub ok: &'static [(u16, Media)],
    pub errors: &'static [u16],
}

impl Spec {
    pub const DEFAULT: Spec = Spec { query: &[], headers: &[], takes: &[], ok: &[(200, Media::Json)], errors: &[] };

    /// Successful answers.
    pub const fn ok(ok: &'static [(u16, Media)]) -> Spec {
        Spec { ok, ..Spec::DEFAULT }
    }

    pub const fn query(self, query: &'static [Param]) -> Spec {
        Spec { query, ..self }
    }

    pub const fn headers(self, headers: &'static [Param]) -> Spec {
        Spec { headers, ..self }
    }

    /// The request body's media types.
    pub const fn takes(self, takes: &'static [&'static str]) -> Spec {
        Spec { takes, ..self }
    }

    pub const fn errors(self, errors: &'static [u16]) -> Spec {
        Spec { errors, ..self }
    }
}

/// Request body media types.
pub const JSON: &[&str] = &["application/json"];
pub const MULTIPART: &[&str] = &["multipart/form-data"];
pub const OCTETS: &[&str] = &["application/octet-stream"];
/// A download: the bytes (whole or a range), or nothing new.
pub const DOWNLOAD: &[(u16, Media)] = &[(200, Media::Bytes), (206, Media::Bytes), (304, Media::Empty)];
/// A download's headers.
pub const DOWNLOAD_HEAD: &[(u16, Media)] = &[(200, Media::Empty), (206, Media::Empty), (304, Media::Empty)];
/// The headers a download honours.
pub const RANGE_HEADERS: &[Param] = &[
    opt("Range", Kind::Str, "`bytes=a-b`: part of the file (206, or 416)."),
    opt("If-None-Match", Kind::Str, "An entity tag: 304 if it is the file's."),
    opt("If-Range", Kind::Str, "An entity tag: the range only if it is the file's."),
];

/// A dialect's table: where in the URL space it lives, and its endpoints.
#[derive(Debug)]
pub struct Table<D: 'static, Op: 'static> {
    pub dialect: D,
    /// Prefixes its paths are served under (`""`: the root). The first pattern segment
    /// names its part of the URL space: a path there that matches none of its endpoints
    /// gets this dialect's `404`.
    pub prefixes: &'static [&'static str],
    /// Does it honour `X-HTTP-Method-Override` (tus: whatever the real method)?
    pub method_override: bool,
    pub endpoints: &'static [Endpoint<Op>],
}

/// Path parameters, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(pub Vec<(&'static str, String)>);

impl Params {
    /// A path parameter's value. A handler asks only for those its route's path has: for
    /// another, a debug build panics (so that the tests find it) and a release build answers
    /// `""`.
    #[track_caller]
    pub fn get(&self, p: PathParam) -> &str {
        let found = self.0.iter().find(|(k, _)| *k == p.name());
        debug_assert!(found.is_some(), "{p:?} is not in the route's path: {self:?}");
        found.map_or("", |(_, v)| v.as_str())
    }
}

/// Where a request goes.
#[derive(Debug)]
pub enum Found<'t, D: 'static, Op: 'static> {
    Endpoint {
        dialect: &'t D,
        endpoint: &'t Endpoint<Op>,
        params: Params,
        method: Method,
    },
    /// The path is known, not with this method.
    MethodNotAllowed {
        dialect: &'t D,
        allow: String,
    },
    /// Nothing here; `dialect` is the one whose part of the URL space it is in, if any.
    NotFound {
        dialect: Option<&'t D>,
    },
}

fn segments(path: &str) -> Vec<&str> {
    let p = path.strip_prefix('/').unwrap_or(path);
    let p = p.strip_suffix('/').unwrap_or(p);
    if p.is_empty() {
        Vec::new()
    } else {
        p.split('/').collect()
    }
}

/// Matches `path` against a pattern: the parameters, and how many literal segments matched
/// (the more, the more specific).
fn matches(pattern: &'static str, path: &[&str]) -> Option<(Params, usize)> {
    let pat = segments(pattern);
    if pat.len() != path.len() {
        return None;
    }
    let mut params = Params::default();
    let mut literal = 0;
    for (p, s) in pat.iter().zip(path) {
        match p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(name) if !s.is_empty() => params.0.push((name, (*s).to_string())),
            Some(_) => return None,
            None if p == s => literal += 1,
            None => return None,
        }
    }
    Some((params, literal))
}

/// The rest of `path` under `prefix`, if it is under it.
fn under<'p>(path: &'p str, prefix: &str) -> Option<&'p str> {
    let rest = path.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// Routes a request. `method_override` is the `X-HTTP-Method-Override` header, honoured by
/// the tables that say so.
pub fn find<'t, D, Op>(
    tables: &'t [Table<D, Op>],
    method: Method,
    method_override: Option<&str>,
    path: &str,
) -> Found<'t, D, Op> {
    // the most specific pattern so far: its literal count, its table, its rows (one a method)
    type Best<'t, D, Op> = Option<(usize, &'t Table<D, Op>, Vec<(&'t Endpoint<Op>, Params)>)>;
    let mut best: Best<'t, D, Op> = None;
    let mut area: Option<&'t D> = None;
    for table in tables {
        for prefix in table.prefixes {
            let Some(rest) = under(path, prefix) else { continue };
            let segs = segments(rest);
            for e in table.endpoints {
                if area.is_none() && segments(e.path).first().is_some_and(|s| segs.first() == Some(s)) {
                    area = Some(&table.dialect);
                }
                let Some((params, literal)) = matches(e.path, &segs) else { continue };
                match &mut best {
                    Some((l, t, rows)) if *l == literal && std::ptr::eq(*t, table) && rows[0].0.path == e.path => {
                        rows.push((e, params))
                    }
                    Some((l, ..)) if *l >= literal => {}
                    _ => best = Some((literal, table, vec![(e, params)])),
                }
            }
        }
    }
    let Some((_, table, rows)) = best else { return Found::NotFound { dialect: area } };
    let method = match method_override.filter(|_| table.method_override) {
        Some(m) => Method::parse(m),
        None => method,
    };
    if let Some((endpoint, params)) = rows.iter().find(|(e, _)| e.method == method) {
        return Found::Endpoint { dialect: &table.dialect, endpoint, params: params.clone(), method };
    }
    let mut allow: Vec<&str> = Vec::new();
    for (e, _) in &rows {
        if !allow.contains(&e.method.as_str()) {
            allow.push(e.method.as_str());
        }
    }
    Found::MethodNotAllowed { dialect: &table.dialect, allow: allow.join(", ") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_parse() {
        assert_eq!(Method::parse("get"), Method::Get);
        assert_eq!(Method::parse(" PATCH "), Method::Patch);
        assert_eq!(Method::parse("BREW"), Method::Other);
        assert_eq!(Method::Options.as_str(), "OPTIONS");
    }

    #[test]
    fn patterns_match_whole_segments() {
        let m = |pat, path: &str| matches(pat, &segments(path)).map(|(p, l)| (p.0, l));
        assert_eq!(m("/files/{id}", "/files/abc"), Some((vec![("id", "abc".to_string())], 1)));
        assert_eq!(m("/files/{id}", "/files/abc/"), Some((vec![("id", "abc".to_string())], 1)));
        assert_eq!(m("/files/", "/files"), Some((vec![], 1)));
        assert_eq!(m("/files/{id}", "/files/"), None, "parameters are never empty");
        assert_eq!(m("/files/{id}", "/files//"), None);
        assert_eq!(m("/files/{id}", "/files/a/b"), None);
        assert_eq!(m("/api/blobs/uploads", "/api/blobs/uploads"), Some((vec![], 3)));
        assert_eq!(under("/rtc/fileshare/uploads", "/rtc/fileshare"), Some("/uploads"));
        assert_eq!(under("/rtc/fileshareX/uploads", "/rtc/fileshare"), None);
    }

    #[test]
    fn a_row_is_an_endpoint() {
        const ROW: Endpoint<u8> =
            row!(Put "/sessions/{sid}/files/{fid}", 7, Tenant, Read, "Store.").with(Spec::ok(&[]));
        assert_eq!((ROW.op, ROW.method, ROW.path, ROW.doc), (7, Method::Put, "/sessions/{sid}/files/{fid}", "Store."));
        assert_eq!((ROW.auth, ROW.body, ROW.spec.ok), (Auth::Tenant, BodyUse::Read, &[][..]));
        let (params, _) = matches(ROW.path, &segments("/sessions/s/files/f")).unwrap();
        assert_eq!((params.get(PathParam::Sid), params.get(PathParam::Fid)), ("s", "f"));
    }

    #[test]
    fn paths_name_known_parameters_once() {
        for p in PathParam::ALL {
            assert_eq!(PathParam::parse(p.name()), Some(p));
        }
        assert_eq!(PathParam::parse("ID"), None);
        assert_eq!(PathParam::parse("i"), None);
        assert_eq!(PathParam::parse("ids"), None);
        check_path("/sessions/{sid}/files/{fid}/tokens/{tid}");
        check_path("/files/");
        check_path("/");
        for bad in ["/files/{ids}", "/files/{id}.json", "/files/{id", "/files/id}", "/{}", "/a/{id}/b/{id}", "{cid}x"] {
            assert!(std::panic::catch_unwind(|| check_path(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "not in the route's path")]
    fn asking_for_a_parameter_the_path_does_not_have_is_a_bug() {
        let (params, _) = matches("/files/{id}", &segments("/files/abc")).unwrap();
        params.get(PathParam::Sid);
    }
}
