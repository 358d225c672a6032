// expect: {"href":"https://user:p%20w@example.com:8443/a/c?q=1%202#top","origin":"https://example.com:8443","host":"example.com:8443","ipv4":"http://127.0.0.1/","ipv6":"http://[::ffff:102:304]/","relative":"https://user:p%20w@example.com:8443/a/x?y","opaque":"mailto:someone@example.com","canParse":[true,false]}
// URL: WHATWG parsing and serialization (lower-cased host, default port elided, dot segments,
// percent-encoding), IPv4 in hex/short form, IPv6 compression, relative resolution against a
// base, an opaque-path URL, and URL.canParse.
function main() {
    const u = new URL("HTTPS://user:p w@EXAMPLE.com:8443/a/./b/../c?q=1 2#top");
    return {
        href: u.href,
        origin: u.origin,
        host: u.host,
        ipv4: new URL("http://0x7f.1").href,
        ipv6: new URL("http://[0:0:0:0:0:ffff:1.2.3.4]").href,
        relative: new URL("x?y", u).href,
        opaque: String(new URL("mailto:someone@example.com")),
        canParse: [URL.canParse("/p", "http://h"), URL.canParse("/p")],
    };
}
