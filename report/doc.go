// Package report renders finished connections: a terminal table with a
// summary footer, JSON and NDJSON. It never changes a connection.
//
// Records follow one versioned schema (SchemaVersion); the README documents
// every field. Renderers write to an io.Writer and are not safe for
// concurrent use.
package report
