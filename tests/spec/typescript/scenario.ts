// The ERP scenario of issue 9 (create, replay, get, amend with If-Match, cancel, list inventory),
// typed against the types openapi-typescript generates from spec/openapi.yaml into ./api.d.ts.
// tests/spec/test_typescript_client.py generates them and runs `tsc --strict --noEmit` over this
// file: every request and response below must type-check, and every `@ts-expect-error` line must
// be an error, so a schema that generates `any` (or loses a required field) fails the test.
import type { components, operations } from "./api";

type Json<T> = T extends { content: { "application/json": infer B } } ? B : never;
type Order = components["schemas"]["Order"];
type ErrorBody = components["schemas"]["ErrorResponse"];

// A transport the scenario is written against: one JSON call, answered with a status and a body.
declare function call<Op extends keyof operations>(
  operation: Op,
  request: {
    path?: Record<string, string>;
    query?: Record<string, string | number>;
    headers?: Record<string, string>;
    body?: unknown;
  },
): Promise<{ status: number; headers: Record<string, string>; body: unknown }>;

type CreateBody = operations["createOrder"]["requestBody"]["content"]["application/json"];
type Created = Json<operations["createOrder"]["responses"][201]>;
type Replayed = Json<operations["createOrder"]["responses"][200]>;
type Read = Json<operations["getOrder"]["responses"][200]>;
type AmendBody = operations["amendOrder"]["requestBody"]["content"]["application/merge-patch+json"];
type Amended = Json<operations["amendOrder"]["responses"][200]>;
type Cancelled = Json<operations["cancelOrder"]["responses"][200]>;
type Stock = Json<operations["listInventory"]["responses"][200]>;
type Refused = Json<operations["cancelOrder"]["responses"][409]>;
type NoScope = Json<components["responses"]["Forbidden"]>;
type IdempotencyKey = operations["createOrder"]["parameters"]["header"]["Idempotency-Key"];
type IfMatch = NonNullable<operations["amendOrder"]["parameters"]["header"]>["If-Match"];

const order: CreateBody = {
  order_number: "SO-100423",
  reference: "F-100423-1",
  warehouse_id: "wh_syd_1",
  shipping_method_id: "sm_auspost_express",
  ship_to: { name: "Jane Doe", address1: "123 Main St", city: "Sydney", country: "AU" },
  items: [{ sku: "WIDGET-BLUE-M", quantity: 2, unit_price: "19.99", currency: "AUD" }],
};

// @ts-expect-error: `items` is required by OrderCreate.
const missingItems: CreateBody = { order_number: "SO-1", reference: "R-1", warehouse_id: "wh_1", ship_to: order.ship_to };

// @ts-expect-error: a quantity is an integer, never a string.
const stringQuantity: CreateBody = { ...order, items: [{ sku: "WIDGET-BLUE-M", quantity: "2" }] };

export async function scenario(key: IdempotencyKey): Promise<Stock> {
  const created = (await call("createOrder", { headers: { "Idempotency-Key": key }, body: order }))
    .body as Created;
  const replayed = (await call("createOrder", { headers: { "Idempotency-Key": key }, body: order }))
    .body as Replayed;
  const sameOrder: boolean = replayed.id === created.id;

  const read = (await call("getOrder", { path: { order_id: created.id } })).body as Read;
  const version: string = read.version;
  const lines: number = read.items.reduce((sum, line) => sum + line.quantity, 0);

  const ifMatch: IfMatch = `"${version}"`;
  const change: AmendBody = { packing_note: "Leave at the back door" };
  const amended = (
    await call("amendOrder", {
      path: { order_id: created.id },
      headers: { "If-Match": ifMatch, "Content-Type": "application/merge-patch+json" },
      body: change,
    })
  ).body as Amended;
  const note: string | null | undefined = amended.packing_note;

  const cancelled = (await call("cancelOrder", { path: { order_id: created.id } })).body as Cancelled;
  const status: Order["status"] = cancelled.status;
  // @ts-expect-error: order statuses are a closed vocabulary (API-012).
  const unknownStatus: Order["status"] = "lost_in_space";

  const refusal: Refused = { error: { code: "too_late_to_cancel", message: "Picking.", request_id: "req_1" } };
  const vendorCode: ErrorBody = { error: { code: "address_undeliverable", message: "No.", request_id: "req_1" } };
  const scope: NoScope = { error: { code: "insufficient_scope", message: "Read-only token.", request_id: "req_1" } };

  const stock = (await call("listInventory", { query: { sku: "WIDGET-BLUE-M", limit: 50 } })).body as Stock;
  const available: number[] = stock.data.flatMap((item) => item.warehouses.map((w) => w.available));
  const next: string | null = stock.pagination.next_cursor;

  void [sameOrder, lines, note, status, unknownStatus, refusal, vendorCode, scope, available, next];
  void [missingItems, stringQuantity];
  return stock;
}
