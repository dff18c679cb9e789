-- The realistic route of the HTTP benchmark: POST /orders with a JSON body of about 300 bytes.
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.body = '{"customer":{"id":"c-1042","email":"ada@example.com","name":"Ada Lovelace"},"lines":[{"sku":"SKU-1000","quantity":2},{"sku":"SKU-1001","quantity":1},{"sku":"SKU-1002","quantity":3}],"shipping":{"method":"standard","address":"12 Example Street, London"},"coupon":null}'
