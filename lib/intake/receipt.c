/* The printable receipt (see include/zhuqi/receipt.h). The page's style
 * and script are constants, allowed by their hashes in the page's CSP, so
 * that nothing else inline can ever run or style it. */
#include "zhuqi/receipt.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <string.h>

#include "zhuqi/calendar.h"
#include "zhuqi/summary.h"

/* A4 in print, one column on a narrow screen; long words (file names,
 * numbers) wrap instead of widening the page. */
static const char style[] =
    "@page{size:A4;margin:18mm 16mm}"
    "*{box-sizing:border-box}"
    "html{-webkit-text-size-adjust:100%;text-size-adjust:100%}"
    "body{margin:0;padding:16px;font:16px/1.6 system-ui,-apple-system,\"PingFang SC\","
    "\"Microsoft YaHei\",\"Noto Sans CJK SC\",sans-serif;color:#111;background:#fff}"
    "main{max-width:760px;margin:0 auto}"
    "h1{font-size:1.5em;margin:.2em 0 .6em;text-align:center}"
    "h2{font-size:1.1em;margin:1.2em 0 .4em;padding-bottom:.2em;border-bottom:1px solid #999}"
    ".office{text-align:center;margin:0;color:#333}"
    "dl{margin:0;display:grid;grid-template-columns:minmax(6em,11em) 1fr;gap:.3em 1em}"
    "dt{color:#444}"
    "dd{margin:0;white-space:pre-wrap}"
    "dt,dd,td{overflow-wrap:anywhere;word-break:break-word;min-width:0}"
    ".no{font-size:1.25em;font-weight:700;letter-spacing:.02em}"
    "table{width:100%;border-collapse:collapse;table-layout:fixed}"
    "th,td{border:1px solid #999;padding:.3em .5em;text-align:left;vertical-align:top}"
    "th{background:#f2f2f2;font-weight:600}"
    "col.k{width:7em}col.s{width:6em}"
    ".track,.note{margin:1.2em 0 0}"
    ".note{color:#444;font-size:.9em}"
    ".bar{margin:1.2em 0 0;text-align:center}"
    "button{font:inherit;min-height:44px;min-width:8em;padding:.4em 1.2em;border:0;"
    "border-radius:6px;background:#17508f;color:#fff}"
    "a{color:#17508f}"
    "@media (max-width:480px){body{padding:12px}dl{display:block}dt{margin-top:.5em}"
    "col.k{width:4.5em}col.s{width:5em}}"
    "@media print{body{padding:0;font-size:11pt}.bar{display:none}a{color:inherit}"
    "th{background:none}h2,tr,dt,dd{break-inside:avoid}}";

static const char script[] = "document.getElementById('print').addEventListener('click',"
                             "function(){window.print();});";

/* 'sha256-…' of a constant into out. */
static int hash_source(const char *src, char out[64])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    char b64[48];

    SHA256((const unsigned char *)src, strlen(src), md);
    if (EVP_EncodeBlock((unsigned char *)b64, md, SHA256_DIGEST_LENGTH) != 44)
        return -ZQ_EINVAL;
    return zq_fmt(out, 64, "'sha256-%s'", b64);
}

int zq_receipt_csp(char *out, size_t outsz)
{
    char hs[64], hj[64];

    if (hash_source(style, hs) < 0 || hash_source(script, hj) < 0)
        return -ZQ_ETOOBIG;
    return zq_fmt(out, outsz,
                  "default-src 'none'; style-src %s; script-src %s; base-uri 'none'; "
                  "form-action 'none'; frame-ancestors 'none'",
                  hs, hj) < 0
               ? -ZQ_ETOOBIG
               : 0;
}

static void esc(zq_buf *b, const char *s)
{
    if (s != NULL)
        zq_buf_html_escape(b, s, strlen(s));
}

/* The head of a page titled title, up to the opening of <main>. */
static void page_head(zq_buf *b, const char *title)
{
    zq_buf_puts(b, "<!doctype html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
                   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                   "<meta name=\"format-detection\" content=\"telephone=no\">\n"
                   "<meta name=\"robots\" content=\"noindex\">\n<title>");
    esc(b, title);
    zq_buf_puts(b, "</title>\n<style>");
    zq_buf_puts(b, style);
    zq_buf_puts(b, "</style>\n</head>\n<body>\n<main>\n");
}

/* A file's size as people read it: "12 KB", "1.5 MB". */
static void size_text(zq_buf *b, long long size)
{
    if (size >= 1048576)
        zq_buf_printf(b, "%lld.%lld MB", size / 1048576, size % 1048576 * 10 / 1048576);
    else
        zq_buf_printf(b, "%lld KB", size > 0 ? (size + 1023) / 1024 : 0);
}

static void fact(zq_buf *b, const char *label, const char *value, const char *cls)
{
    zq_buf_puts(b, "<dt>");
    esc(b, label);
    zq_buf_printf(b, "</dt><dd%s%s%s>", cls ? " class=\"" : "", cls ? cls : "", cls ? "\"" : "");
    esc(b, value);
    zq_buf_puts(b, "</dd>\n");
}

static void answers_html(zq_buf *b, const zq_receipt_in *in, const zq_form *f)
{
    json_t *steps =
        zq_summary_fields(in->schema, f, in->c->answers, ZQ_SUMMARY_MASK | ZQ_SUMMARY_NO_FILES);
    json_t *st, *it;
    size_t i, j;

    if (steps == NULL) {
        b->oom = true;
        return;
    }
    json_array_foreach(steps, i, st)
    {
        zq_buf_puts(b, "<h2>");
        esc(b, json_string_value(json_object_get(st, "title")));
        zq_buf_puts(b, "</h2>\n<dl>\n");
        json_array_foreach(json_object_get(st, "fields"), j, it)
        {
            const char *v = json_string_value(json_object_get(it, "value"));

            /* An optional answer left empty says so on paper. */
            fact(b, json_string_value(json_object_get(it, "label")),
                 v != NULL && v[0] != '\0' ? v : "未填写", NULL);
        }
        zq_buf_puts(b, "</dl>\n");
    }
    json_decref(steps);
}

static void files_html(zq_buf *b, json_t *files)
{
    json_t *rec;
    size_t i;

    zq_buf_puts(b, "<h2>证据文件</h2>\n");
    if (json_array_size(files) == 0) {
        zq_buf_puts(b, "<p>未上传文件。</p>\n");
        return;
    }
    zq_buf_puts(b, "<table>\n<colgroup><col class=\"k\"><col><col class=\"s\"></colgroup>\n"
                   "<thead><tr><th>类别</th><th>文件名</th><th>大小</th></tr></thead>\n<tbody>\n");
    json_array_foreach(files, i, rec)
    {
        zq_buf_puts(b, "<tr><td>");
        esc(b, json_string_value(json_object_get(rec, "kind")));
        zq_buf_puts(b, "</td><td>");
        esc(b, json_string_value(json_object_get(rec, "name")));
        zq_buf_puts(b, "</td><td>");
        size_text(b, (long long)json_integer_value(json_object_get(rec, "size")));
        zq_buf_puts(b, "</td></tr>\n");
    }
    zq_buf_puts(b, "</tbody>\n</table>\n");
}

int zq_receipt_html(const zq_receipt_in *in, zq_buf *out)
{
    const zq_case *c = in->c;
    const zq_form *f = in->schema ? zq_schema_form(in->schema, c->form) : NULL;
    const char *type = f ? f->title : c->form;
    char iso[32], when[20], title[96];
    zq_buf b = {0};
    int rc = 0;

    zq_time_iso(c->created_ms, iso);
    /* "2026-11-26T09:30:00+08:00" -> "2026-11-26 09:30" */
    if (zq_fmt(when, sizeof(when), "%.10s %.5s", iso, iso + 11) < 0 ||
        zq_fmt(title, sizeof(title), "回执 %s — 助企", c->id) < 0)
        return -ZQ_ENOMEM; /* cannot happen: both fit */
    page_head(&b, title);
    if (in->office != NULL && in->office[0] != '\0') {
        zq_buf_puts(&b, "<p class=\"office\">");
        esc(&b, in->office);
        zq_buf_puts(&b, "</p>\n");
    }
    zq_buf_puts(&b, "<h1>案件提交回执</h1>\n<dl>\n");
    fact(&b, "案件编号", c->id, "no");
    fact(&b, "事项", type, NULL);
    fact(&b, "提交时间", when, NULL);
    zq_buf_puts(&b, "</dl>\n");
    answers_html(&b, in, f);
    files_html(&b, c->files);
    zq_buf_puts(&b,
                "<p class=\"track\">查询进度：请凭案件编号和提交时填写的手机号码，在“进度查询”");
    if (in->lookup_url != NULL && in->lookup_url[0] != '\0') {
        zq_buf_puts(&b, "（");
        esc(&b, in->lookup_url);
        zq_buf_puts(&b, "）");
    }
    zq_buf_puts(&b, "页面查询办理状态和期限。</p>\n"
                    "<p class=\"note\">本回执证明上述案件已提交，不代表已受理；"
                    "是否受理以办理结果为准。</p>\n"
                    "<p class=\"bar\"><button type=\"button\" id=\"print\">打印</button></p>\n"
                    "</main>\n<script>");
    zq_buf_puts(&b, script);
    zq_buf_puts(&b, "</script>\n</body>\n</html>\n");
    if (b.oom || zq_buf_append(out, b.data, b.len) < 0)
        rc = -ZQ_ENOMEM;
    zq_buf_free(&b);
    return rc;
}

int zq_receipt_refusal_html(const char *title, const char *text, const char *link_href,
                            const char *link_text, zq_buf *out)
{
    zq_buf b = {0};
    int rc = 0;

    page_head(&b, title);
    zq_buf_puts(&b, "<h1>");
    esc(&b, title);
    zq_buf_puts(&b, "</h1>\n<p>");
    esc(&b, text);
    zq_buf_puts(&b, "</p>\n");
    if (link_href != NULL) {
        zq_buf_puts(&b, "<p><a href=\"");
        esc(&b, link_href);
        zq_buf_puts(&b, "\">");
        esc(&b, link_text);
        zq_buf_puts(&b, "</a></p>\n");
    }
    zq_buf_puts(&b, "</main>\n</body>\n</html>\n");
    if (b.oom || zq_buf_append(out, b.data, b.len) < 0)
        rc = -ZQ_ENOMEM;
    zq_buf_free(&b);
    return rc;
}
