#!/usr/bin/env node
/*
 * The contract test of ncsld's HTTP API (docs/openapi.json, OpenAPI 3.1).
 *
 *   (a) the document is a valid OpenAPI 3.1 document (@apidevtools/swagger-parser);
 *   (b) the server's route table (the g_routes array of src/http/server.c, read as text here:
 *       the server has no route-listing endpoint) and the document's operations are the same
 *       set of (method, path template), both ways;
 *   (c) with --records: every live answer recorded by tests/e2e/test_openapi.py is documented
 *       and valid: its route and method are in the document, its status is one of the
 *       operation's responses (an undocumented status fails), its Content-Type is one of that
 *       response's media types, its body validates against that media type's schema (Ajv,
 *       JSON Schema 2020-12 as OpenAPI 3.1 uses it, with ajv-formats), and the headers the
 *       response declares are present and valid. Requests no route matched ("unmatched") are
 *       checked against components.responses NotFound (404), MethodNotAllowed (405) and
 *       RequestTimeout (408).
 *   --require-coverage: every operation has at least one 2xx record and, unless listed in
 *       --exempt-errors "METHOD /path,..." (routes whose errors cannot be produced from the
 *       test's own host), one record with another status.
 *
 * Usage:
 *   node openapi_contract.js --spec docs/openapi.json --server-c src/http/server.c
 *        [--records FILE] [--require-coverage] [--exempt-errors LIST]
 * Records: JSON lines {"method", "route" (template or "unmatched"), "status", "contentType",
 * "headers" (lower-case names), "body" (text)}.
 *
 * Exit status 0 when every check passed; the last line is "N passed, M failed".
 */
"use strict";

const fs = require("fs");

function die(msg) {
    console.error(`openapi_contract: ${msg}`);
    process.exit(2);
}

function load(name) {
    try {
        return require(name);
    } catch (e) {
        die(`cannot load the npm package ${name} (${e.message.split("\n")[0]}): run ` +
            `scripts/bootstrap.sh (it runs npm ci in tests/interop)`);
    }
    return null;
}

const SwaggerParser = load("@apidevtools/swagger-parser");
const Ajv2020 = load("ajv/dist/2020").default;
const addFormats = load("ajv-formats").default;

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];

function parseArgs(argv) {
    const a = {spec: null, serverC: null, records: null, coverage: false, exempt: new Set()};
    for (let i = 2; i < argv.length; i++) {
        const next = () => {
            if (i + 1 >= argv.length) die(`${argv[i]} needs a value`);
            return argv[++i];
        };
        switch (argv[i]) {
        case "--spec": a.spec = next(); break;
        case "--server-c": a.serverC = next(); break;
        case "--records": a.records = next(); break;
        case "--require-coverage": a.coverage = true; break;
        case "--exempt-errors":
            for (const s of next().split(",")) if (s.trim()) a.exempt.add(s.trim());
            break;
        default: die(`unknown argument ${argv[i]}`);
        }
    }
    if (!a.spec || !a.serverC) die("--spec and --server-c are required");
    return a;
}

let passed = 0;
let failed = 0;
function check(ok, what) {
    if (ok) {
        passed++;
    } else {
        failed++;
        console.log(`FAIL ${what}`);
    }
    return ok;
}

/* The route table of server.c: {"METHOD", "/path", handler, ACCESS}, between the opening of
 * g_routes[] and its closing "};". */
function routeTable(file) {
    const text = fs.readFileSync(file, "utf8");
    const start = text.indexOf("static const http_route g_routes[] = {");
    if (start < 0) die(`${file}: no g_routes table`);
    const end = text.indexOf("};", start);
    const body = text.slice(start, end);
    const out = [];
    const re = /\{\s*"([A-Z]+)",\s*"([^"]+)",\s*[A-Za-z_0-9]+,\s*ACCESS_[A-Z]+\s*\}/g;
    let m;
    while ((m = re.exec(body)) !== null) out.push(`${m[1]} ${m[2]}`);
    if (out.length === 0) die(`${file}: g_routes has no entries this script can read`);
    return out;
}

function operations(doc) {
    const out = new Map();
    for (const [p, item] of Object.entries(doc.paths || {})) {
        for (const m of METHODS) {
            if (item[m]) out.set(`${m.toUpperCase()} ${p}`, item[m]);
        }
    }
    return out;
}

function resolve(doc, obj) {
    let o = obj;
    for (let i = 0; o && o.$ref && i < 10; i++) {
        if (!o.$ref.startsWith("#/")) die(`external $ref ${o.$ref}`);
        o = o.$ref.slice(2).split("/").reduce(
            (acc, k) => (acc ? acc[k.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined), doc);
    }
    return o;
}

function pointer(parts) {
    return "#/" + parts.map((p) => String(p).replace(/~/g, "~0").replace(/\//g, "~1")).join("/");
}

/* Ajv's errors with their parameters (the additional property's name, the missing one...). */
function errorsText(errors) {
    return (errors || []).slice(0, 8).map((e) =>
        `${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`).join("; ");
}

function normType(t) {
    return String(t || "").toLowerCase().replace(/\s+/g, "");
}

async function main() {
    const args = parseArgs(process.argv);
    let doc;
    try {
        doc = JSON.parse(fs.readFileSync(args.spec, "utf8"));
    } catch (e) {
        die(`${args.spec}: ${e.message}`);
    }

    /* (a) the document itself (swagger-parser dereferences what it is given: a copy) */
    try {
        await SwaggerParser.validate(JSON.parse(JSON.stringify(doc)));
        check(doc.openapi === "3.1.0", `openapi is "3.1.0" (got ${doc.openapi})`);
        check(true, "the document is valid OpenAPI");
    } catch (e) {
        check(false, `the document is not valid OpenAPI: ${e.message}`);
    }

    /* (b) the route table and the document, both ways */
    const table = routeTable(args.serverC);
    const ops = operations(doc);
    for (const r of table) check(ops.has(r), `route ${r} (server.c) is in the document`);
    for (const k of ops.keys()) {
        check(table.includes(k), `operation ${k} (document) is in server.c's route table`);
    }
    check(new Set(table).size === table.length, "server.c's route table has no duplicate");

    /* every operation: an operationId, responses, and its path parameters declared */
    for (const [k, op] of ops) {
        const path = k.split(" ")[1];
        const names = [...path.matchAll(/\{([^}]+)\}/g)].map((x) => x[1]);
        const declared = (op.parameters || []).map((p) => resolve(doc, p))
            .filter((p) => p.in === "path").map((p) => p.name);
        check(op.operationId && op.responses && Object.keys(op.responses).length > 0,
            `${k} has an operationId and responses`);
        check(JSON.stringify(names.slice().sort()) === JSON.stringify(declared.slice().sort()),
            `${k} declares its path parameters ${names} (got ${declared})`);
    }

    if (!args.records) {
        console.log(`${passed} passed, ${failed} failed`);
        process.exit(failed ? 1 : 0);
    }

    /* (c) live answers */
    const ajv = new Ajv2020({strict: false, allErrors: true, validateSchema: false});
    addFormats(ajv);
    ajv.addSchema(doc, "openapi.json");
    const validators = new Map();
    function validator(parts) {
        const ref = "openapi.json" + pointer(parts);
        if (!validators.has(ref)) {
            const v = ajv.getSchema(ref);
            if (!v) die(`no schema at ${ref}`);
            validators.set(ref, v);
        }
        return validators.get(ref);
    }

    const lines = fs.readFileSync(args.records, "utf8").split("\n").filter((l) => l.trim());
    check(lines.length > 0, "there are records to check");
    const seen = new Map(); /* "METHOD path" -> {ok: n, err: n} */
    for (const [i, line] of lines.entries()) {
        let rec;
        try {
            rec = JSON.parse(line);
        } catch (e) {
            check(false, `record ${i + 1} is JSON: ${e.message}`);
            continue;
        }
        const method = String(rec.method).toUpperCase();
        const status = String(rec.status);
        const label = `#${i + 1} ${method} ${rec.route} -> ${status}`;
        /* HEAD is answered by the GET operation, without a body */
        const docMethod = method === "HEAD" ? "get" : method.toLowerCase();
        let response;
        let respParts;
        if (rec.route === "unmatched") {
            const name = {404: "NotFound", 405: "MethodNotAllowed", 408: "RequestTimeout"}[status];
            if (!check(name !== undefined, `${label}: an unmatched request answers 404, 405 or ` +
                       `408`)) {
                continue;
            }
            response = doc.components.responses[name];
            respParts = ["components", "responses", name];
        } else {
            const item = doc.paths[rec.route];
            const op = item && item[docMethod];
            if (!check(op !== undefined, `${label}: the operation is documented`)) continue;
            const key = `${docMethod.toUpperCase()} ${rec.route}`;
            const s = seen.get(key) || {ok: 0, err: 0};
            if (/^2/.test(status)) s.ok++; else s.err++;
            seen.set(key, s);
            response = op.responses[status];
            if (!check(response !== undefined,
                `${label}: status ${status} is documented (documented: ` +
                `${Object.keys(op.responses).join(", ")})`)) {
                continue;
            }
            respParts = ["paths", rec.route, docMethod, "responses", status];
            if (response.$ref) {
                respParts = response.$ref.slice(2).split("/");
                response = resolve(doc, response);
            }
        }
        /* declared headers */
        for (const [h, spec] of Object.entries(response.headers || {})) {
            const v = (rec.headers || {})[h.toLowerCase()];
            if (!check(v !== undefined, `${label}: header ${h} is present`)) continue;
            const hs = resolve(doc, spec);
            if (hs.schema) {
                const hv = validator([...respParts, "headers", h, "schema"]);
                check(hv(v),
                    `${label}: header ${h}: ${JSON.stringify(v)} ${errorsText(hv.errors)}`);
            }
        }
        const content = response.content || {};
        const types = Object.keys(content);
        if (types.length === 0) {
            check(!rec.body, `${label}: no body is documented and none was sent`);
            continue;
        }
        const got = normType(rec.contentType);
        const mt = types.find((t) => normType(t) === got) ||
            types.find((t) => !t.includes(";") && normType(t) === got.split(";")[0]);
        if (!check(mt !== undefined,
            `${label}: Content-Type ${rec.contentType} is documented (${types.join(", ")})`)) {
            continue;
        }
        if (method === "HEAD") {
            check(!rec.body, `${label}: HEAD has no body`);
            continue;
        }
        if (!content[mt].schema) continue;
        let value = rec.body;
        if (/json/.test(mt)) {
            try {
                value = JSON.parse(rec.body);
            } catch (e) {
                check(false, `${label}: the body is JSON: ${e.message}`);
                continue;
            }
        }
        const v = validator([...respParts, "content", mt, "schema"]);
        check(v(value), `${label}: the body matches the schema: ${errorsText(v.errors)}; body: ` +
              `${String(rec.body).slice(0, 300)}`);
    }

    if (args.coverage) {
        for (const [k, op] of ops) {
            const s = seen.get(k) || {ok: 0, err: 0};
            check(s.ok > 0, `coverage: ${k} was answered with a 2xx`);
            const documentedErrors = Object.keys(op.responses).filter((c) => !/^2|^408$/.test(c));
            if (documentedErrors.length > 0 && !args.exempt.has(k)) {
                check(s.err > 0, `coverage: ${k} was answered with an error`);
            }
        }
    }
    console.log(`${lines.length} records checked`);
    console.log(`${passed} passed, ${failed} failed`);
    process.exit(failed ? 1 : 0);
}

main().catch((e) => die(e.stack || String(e)));
