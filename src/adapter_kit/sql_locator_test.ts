import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { encodeUserInfo, splitSqlLocator, type SqlLocatorSpec } from "./sql_locator.ts";

const MYSQL: SqlLocatorSpec = {
  adapter: "mysql",
  schemes: /^(mysql|mariadb):\/\//i,
  quote: "`",
  urlExample: "mysql://USER@HOST:PORT/DATABASE#TABLE",
  namespace: "DATABASE",
  quoteExample: "'shop.`Order Items`'",
};

Deno.test("a password typed with #, @, /, ? or spaces unencoded parses and decodes to itself", () => {
  const password = "p#ss@w/rd?x y%z";
  const split = splitSqlLocator(`mysql://app:${password}@db:3307/shop#sales.orders`, MYSQL);
  assertEquals(split.namespace, "sales");
  assertEquals(split.table, "orders");
  const url = new URL(split.url!);
  assertEquals(decodeURIComponent(url.password), password);
  assertEquals([url.username, url.hostname, url.port, url.pathname], [
    "app",
    "db",
    "3307",
    "/shop",
  ]);
});

Deno.test("encodeUserInfo keeps what is already encoded and URLs without user info", () => {
  assertEquals(encodeUserInfo("mysql://app:p%23w%40@db/shop"), "mysql://app:p%23w%40@db/shop");
  assertEquals(encodeUserInfo("mysql://db/shop"), "mysql://db/shop");
  assertEquals(encodeUserInfo("mysql://a:b:c@db/"), "mysql://a:b:c@db/");
  assertEquals(decodeURIComponent(new URL(encodeUserInfo("mysql://a:%zz@db/")).password), "%zz");
});
