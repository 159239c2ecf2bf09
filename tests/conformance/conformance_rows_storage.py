"""Conformance rows: the storage tasks (Size, Concat, Reverse, Split, Delete, PurgeCurrentExecutionFiles,
DeduplicateItems, FilterItems) on files a local HTTP server serves, and http.Download/Request."""

from __future__ import annotations

from conformance_table import KT, Contains, Row

S = KT + "plugin/core/storage/"
H = KT + "plugin/core/http/"
DATA = "one\ntwo\nthree\n"

ROWS: list[Row] = [
    Row("storage/files.yaml", S + "SizeTest#run", "SUCCESS", 9, {"size.size": len(DATA)}),
    Row("storage/files.yaml", S + "ConcatTest#list", "SUCCESS", 9, {"concat_size.size": 2 * len(DATA)}),
    Row("storage/files.yaml", S + "ReverseTest#run", "SUCCESS", 9, {"reversed.value": "three\ntwo\none"}),
    Row("storage/files.yaml", S + "SplitTest#rows", "SUCCESS", 9, {"#split": "SUCCESS"}),
    Row("storage/files.yaml", S + "DeleteTest#run", "SUCCESS", 9,
        {"delete.deleted": True, "delete_again.deleted": False}),
    Row("storage/delete-missing.yaml", S + "DeleteTest#run (errorOnMissing)", "FAILED", 3,
        {"#delete_again": "FAILED"}),
    Row("storage/split-partitions.yaml", S + "SplitTest#partition", "SUCCESS", 3, {"count.value": "2"}),
    Row("storage/purge-current.yaml", S + "PurgeCurrentExecutionFilesTest#run", "SUCCESS", 3,
        {"gone.value": "false"}),
    Row("storage/items.yaml", S + "DeduplicateItemsTest#shouldDeduplicateFileGivenKeyExpression", "SUCCESS", 5,
        {"dedup_rows.value": "3"}),
    Row("storage/items.yaml", S + "FilterItemsTest#shouldFilterGivenValidBooleanExpressionForInclude", "SUCCESS", 5,
        {"filter_rows.value": "3"}),
    Row("storage/files.yaml", H + "DownloadTest#run", "SUCCESS", 9,
        {"download.uri": Contains("kestra:///io/kestra/tests/files/executions/", start=True)}),
]

CSV = "id,name,value\n1,foo,100\n2,bar,200\n3,baz,300\n"
ROWS += [
    Row("http/download.yaml", H + "DownloadTest#run", "SUCCESS", 2,
        {"content.value": CSV, "get.uri": Contains(".csv")}),
    Row("http/download.yaml", H + "DownloadTest#error", "FAILED", 1, {"#get": "FAILED"}, inputs={"path": "/500"}),
    Row("http/download.yaml", H + "DownloadTest#noResponse", "FAILED", 1, {"#get": "FAILED"},
        inputs={"path": "/204"}),
    Row("http/download.yaml", H + "DownloadTest#contentDisposition", "SUCCESS", 2,
        {"content.value": "Hello World", "get.uri": Contains("filename.jpg")}, inputs={"path": "/disposition"}),
    Row("http/download-options.yaml", H + "DownloadTest#allowNoResponse", "SUCCESS", 2, {"empty.length": 0}),
    Row("http/download-options.yaml", H + "DownloadTest#failed", "SUCCESS", 2, {"refused.code": 417}),
    Row("http/request.yaml", H + "RequestTest#run", "SUCCESS", 2, {"call.code": 200, "hello.value": "world"}),
    Row("http/request.yaml", H + "RequestTest#failed", "FAILED", 1, {"#call": "FAILED"}, inputs={"path": "/417"}),
    Row("http/request-post.yaml", H + "RequestTest#json", "SUCCESS", 2, {"post.body": '{"a": 1}', "post.code": 200}),
    Row("http/request-post.yaml", H + "RequestTest#allowFailed", "SUCCESS", 2, {"allowed.code": 500}),
]

K = KT + "plugin/core/kv/"
ST = KT + "plugin/core/state/StateTest#"
N = KT + "plugin/core/namespace/"
ROWS += [
    Row("kv/kv.yaml", K + "SetTest#shouldSetKVGivenSameNamespace (the value kept typed)", "SUCCESS", 8,
        {"get.value": {"a": 1}}),
    Row("kv/overwrite.yaml", K + "SetTest#shouldFailGivenExistingKeyAndOverwriteFalse", "FAILED", 2,
        {"#again": "FAILED"}),
    Row("kv/kv.yaml", K + "GetTest#shouldGetGivenExistingKey", "SUCCESS", 8, {"fn.value": "plain"}),
    Row("kv/kv.yaml", K + "GetTest#shouldGetGivenNonExistingKey", "SUCCESS", 8, {"missing.value": None}),
    Row("kv/get-missing.yaml", K + "GetTest#shouldGetGivenNonExistingKey (errorOnMissing)", "FAILED", 1,
        {"#get": "FAILED"}),
    Row("kv/kv.yaml", K + "GetKeysTest#shouldGetKeysGivenMatchingPrefix", "SUCCESS", 8, {"keys.keys": ["my_key"]}),
    Row("kv/kv.yaml", K + "DeleteTest#shouldOutputTrueGivenExistingKey", "SUCCESS", 8, {"delete.deleted": True}),
    Row("kv/kv.yaml", K + "DeleteTest#shouldOutputFalseGivenNonExistingKey", "SUCCESS", 8,
        {"delete_again.deleted": False}),
    Row("state/state.yaml", ST + "run", "SUCCESS", 6,
        {"get_empty.count": 0, "set.count": 1, "set_more.count": 2, "get.data": {"first": "1", "second": "two"},
         "delete.deleted": True, "get_after.count": 0}),
    Row("state/get-throw.yaml", ST + "getThrow", "FAILED", 1, {"#get": "FAILED"}),
    Row("logs/fetch.yaml", KT + "core/tasks/FetchTest#fetch (this execution's lines, by level and task)", "SUCCESS", 5,
        {"fetch_all.size": 2, "fetch_warn.size": 1, "fetch_task.size": 1}),
    Row("namespace/files.yaml", N + "UploadFilesTest#shouldPutFileFromRegex", "SUCCESS", 7, {"read.value": "first"}),
    Row("namespace/files.yaml", N + "DownloadFilesTest#shouldDownloadNamespaceFile", "SUCCESS", 7,
        {"download.files": {"/up/a.txt": Contains("kestra:///", start=True),
                            "/up/sub/b.txt": Contains("kestra:///", start=True)}}),
    Row("namespace/files.yaml", N + "DeleteFilesTest#shouldDeleteNamespaceFilesForMatchingExpression", "SUCCESS", 7,
        {"gone.value": "false"}),
]
