-- wrk script: POST one valid tweet per request (the body is fixed: the api's cost does not depend on it).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"municipality":"mixco","temperature":25,"humidity":60,"weather":"sunny"}'
