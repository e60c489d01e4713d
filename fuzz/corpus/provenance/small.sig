{
  "payload": "aGVsbG8=",
  "payloadType": "text/plain",
  "signatures": [
    {
      "keyid": "06e3fd8fda29bb60ab59557de61edb0aecdb231134be30e75b455f8e1b792fa9",
      "sig": "rU+c6xywolzout94/+KJ4OR9dcmXuD7KyUH4xSntPfM5758lAL7GLNaXyXsuTHKBMQ/i9od5FB3ISXiIR70BAA=="
    }
  ]
}
