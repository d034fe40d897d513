//! Twake's endpoints under [`PREFIX`] ([`TABLE`]): one row per route, a CORS preflight on
//! every path, and resumable.js's query parameters as the OpenAPI document shows them.

use super::Op;
use crate::dialect::Op::Twake;
use crate::dialect::{self, Dialect};
use crate::route::{
    opt, row, Endpoint, Kind, Media, Param, Spec, Table, DOWNLOAD, DOWNLOAD_HEAD, MULTIPART, RANGE_HEADERS,
};

pub const PREFIX: &str = "/internal/services/files/v1";

pub const TABLE: Table<Dialect, dialect::Op> = Table {
    dialect: Dialect::Twake,
    prefixes: &[PREFIX],
    method_override: false,
    endpoints: &[
        row!(Post "/companies/{cid}/files", Twake(Op::Upload), Own, Read,
            "Create a file: an empty body (a chunked upload follows) or a multipart `file` (a single upload).")
        .with(Spec::DEFAULT.takes(MULTIPART).query(CHUNK_QUERY).errors(&[403])),
        row!(Post "/companies/{cid}/files/{id}", Twake(Op::Chunk), Own, Read,
            "Upload chunk `chunk_number` of `total_chunks` (query), multipart `file`; any order, in parallel.")
        .with(Spec::DEFAULT.takes(MULTIPART).query(CHUNK_QUERY).errors(&[403, 409])),
        row!(Get "/companies/{cid}/files/{id}", Twake(Op::Get), Own, None, "A file's metadata.")
            .with(Spec::DEFAULT.errors(&[403])),
        row!(Get "/{cid}/files/{id}", Twake(Op::Get), Own, None, "A file's metadata (the seed's path).")
            .with(Spec::DEFAULT.errors(&[403])),
        row!(Get "/companies/{cid}/files/{id}/download", Twake(Op::Download), None, None, "Download a file (open).")
            .with(Spec::ok(DOWNLOAD).headers(RANGE_HEADERS).errors(&[409, 416])),
        row!(Head "/companies/{cid}/files/{id}/download", Twake(Op::Download), None, None,
            "Download a file, headers only.")
        .with(Spec::ok(DOWNLOAD_HEAD).headers(RANGE_HEADERS).errors(&[409, 416])),
        row!(Get "/companies/{cid}/files/{id}/thumbnails/{index}", Twake(Op::Thumbnail), None, None,
            "A file's thumbnail (open).")
        .with(Spec::ok(DOWNLOAD).headers(RANGE_HEADERS).errors(&[416])),
        row!(Head "/companies/{cid}/files/{id}/thumbnails/{index}", Twake(Op::Thumbnail), None, None,
            "A thumbnail, headers only.")
        .with(Spec::ok(DOWNLOAD_HEAD).headers(RANGE_HEADERS).errors(&[416])),
        row!(Delete "/companies/{cid}/files/{id}", Twake(Op::Delete), Own, None,
            "Delete a file, its chunks and thumbnails: `{\"status\":\"success\"}`.")
        .with(Spec::DEFAULT.errors(&[403])),
        preflight_row("/companies/{cid}/files"),
        preflight_row("/companies/{cid}/files/{id}"),
        preflight_row("/{cid}/files/{id}"),
        preflight_row("/companies/{cid}/files/{id}/download"),
        preflight_row("/companies/{cid}/files/{id}/thumbnails/{index}"),
    ],
};

const fn preflight_row(path: &'static str) -> Endpoint<dialect::Op> {
    row!(Options path, Twake(Op::Options), None, None, "CORS preflight (any origin).")
        .with(Spec::ok(&[(204, Media::Empty)]))
}

/// resumable.js's query parameters and their snake_case aliases (read from the query only).
const CHUNK_QUERY: &[Param] = &[
    opt("resumableChunkNumber", Kind::Int, "The chunk's number, from 1 (also `chunk_number`)."),
    opt("chunk_number", Kind::Int, "The chunk's number, from 1."),
    opt("resumableTotalChunks", Kind::Int, "How many chunks (also `total_chunks`)."),
    opt("total_chunks", Kind::Int, "How many chunks."),
    opt("resumableTotalSize", Kind::Int, "The whole file's size (also `total_size`)."),
    opt("total_size", Kind::Int, "The whole file's size."),
    opt("resumableFilename", Kind::Str, "The file's name (also `filename`)."),
    opt("filename", Kind::Str, "The file's name."),
    opt("resumableType", Kind::Str, "The file's media type (also `type`)."),
    opt("type", Kind::Str, "The file's media type."),
    opt("thumbnail_sync", Kind::Str, "Make thumbnails before answering."),
];
