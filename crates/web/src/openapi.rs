//! The OpenAPI 3 document of `/api/v1`, built from one table of operations.

use serde_json::{Map, Value, json};

/// (method, path, operationId, summary, needs a request body).
pub const OPERATIONS: &[(&str, &str, &str, &str, bool)] = &[
    (
        "post",
        "/login",
        "login",
        "Sign in with username and password; returns a bearer token",
        true,
    ),
    (
        "post",
        "/logout",
        "logout",
        "End the current session",
        false,
    ),
    ("get", "/me", "getMe", "The signed-in user", false),
    (
        "get",
        "/estates",
        "listEstates",
        "Estates the user may see",
        false,
    ),
    (
        "post",
        "/estates",
        "createEstate",
        "Create an estate (admin)",
        true,
    ),
    (
        "get",
        "/estates/{code}",
        "getEstate",
        "An estate and its counts",
        false,
    ),
    (
        "put",
        "/estates/{code}",
        "updateEstate",
        "Edit an estate",
        true,
    ),
    (
        "get",
        "/estates/{code}/buildings",
        "listBuildings",
        "Buildings of an estate",
        false,
    ),
    (
        "put",
        "/estates/{code}/buildings",
        "upsertBuilding",
        "Create or edit a building by name",
        true,
    ),
    (
        "get",
        "/estates/{code}/rooms",
        "listRooms",
        "Rooms (filter q: building, number or owner)",
        false,
    ),
    (
        "post",
        "/estates/{code}/rooms",
        "createRoom",
        "Add a room",
        true,
    ),
    (
        "put",
        "/estates/{code}/rooms/{id}",
        "updateRoom",
        "Edit a room",
        true,
    ),
    (
        "get",
        "/estates/{code}/spaces",
        "listSpaces",
        "Parking spaces",
        false,
    ),
    (
        "post",
        "/estates/{code}/spaces",
        "createSpace",
        "Add a parking space",
        true,
    ),
    (
        "put",
        "/estates/{code}/spaces/{id}",
        "updateSpace",
        "Edit a parking space",
        true,
    ),
    (
        "get",
        "/estates/{code}/owners",
        "listOwners",
        "Owners (filter q: name or phone)",
        false,
    ),
    (
        "post",
        "/estates/{code}/owners",
        "createOwner",
        "Add an owner with phones and holdings",
        true,
    ),
    (
        "put",
        "/estates/{code}/owners/{id}",
        "updateOwner",
        "Edit an owner",
        true,
    ),
    (
        "get",
        "/estates/{code}/fee-items",
        "listFeeItems",
        "Fee items with late-fee policies",
        false,
    ),
    (
        "post",
        "/estates/{code}/fee-items",
        "createFeeItem",
        "Add a fee item",
        true,
    ),
    (
        "put",
        "/estates/{code}/fee-items/{id}",
        "updateFeeItem",
        "Edit a fee item and its late-fee policy",
        true,
    ),
    (
        "put",
        "/estates/{code}/fee-items/{id}/amounts",
        "setEnteredAmounts",
        "Enter per-room amounts of an entered item (e.g. metered water) for a period",
        true,
    ),
    (
        "post",
        "/estates/{code}/billing-runs",
        "runBilling",
        "Bill a period (idempotent)",
        true,
    ),
    (
        "get",
        "/estates/{code}/arrears",
        "listArrears",
        "Owed lines with late fees as of a date (as_of=YYYY-MM-DD)",
        false,
    ),
    (
        "post",
        "/estates/{code}/payments",
        "recordPayment",
        "Record a payment, allocated oldest first",
        true,
    ),
    (
        "post",
        "/estates/{code}/bill-lines/{id}/waive-late-fee",
        "waiveLateFee",
        "Waive a line's late fee with a reason",
        true,
    ),
    (
        "post",
        "/estates/{code}/bill-lines/{id}/waive",
        "waiveBillLine",
        "Waive a whole line with a reason",
        true,
    ),
    (
        "post",
        "/estates/{code}/bill-lines/{id}/dispute",
        "setDispute",
        "Mark or clear a dispute (stops late-fee accrual)",
        true,
    ),
    (
        "post",
        "/owner/code",
        "requestOwnerCode",
        "Owner sign-in, step 1: text a one-time code to a phone on file, for the company of `estate` (or the one company the phone is on file with). The answer is the same whether or not the phone is on file (the phone masked); limited per client (counted first) and per phone, 429 with Retry-After",
        true,
    ),
    (
        "post",
        "/owner/session",
        "verifyOwnerCode",
        "Owner sign-in, step 2: exchange the code for a long-lived owner session token",
        true,
    ),
    (
        "delete",
        "/owner/session",
        "endOwnerSession",
        "End the owner's session on this phone",
        false,
    ),
    (
        "get",
        "/owner/targets",
        "listOwnerTargets",
        "The signed-in owner's rooms and spaces with what is owed, by category, late fees with their calculation",
        false,
    ),
    (
        "get",
        "/owner/bookings",
        "listOwnerBookings",
        "The signed-in owner's bookings",
        false,
    ),
    (
        "get",
        "/estates/{code}/slots",
        "listSlots",
        "Visiting slots with places left (public)",
        false,
    ),
    (
        "get",
        "/estates/{code}/bookings",
        "listBookings",
        "Bookings of a day (staff)",
        false,
    ),
    (
        "post",
        "/estates/{code}/bookings",
        "createBooking",
        "Book a home visit (owner for their own rooms; staff on an owner's behalf)",
        true,
    ),
    (
        "get",
        "/bookings/{id}",
        "getBooking",
        "A booking (its owner or staff of the estate)",
        false,
    ),
    (
        "get",
        "/bookings/{id}/history",
        "getBookingHistory",
        "Every transition of a booking: who and when (staff)",
        false,
    ),
    (
        "post",
        "/bookings/{id}/cancel",
        "cancelBooking",
        "Cancel a booking (owners up to the cut-off)",
        true,
    ),
    (
        "post",
        "/bookings/{id}/reschedule",
        "rescheduleBooking",
        "Move a booking to another slot (one transaction)",
        true,
    ),
    (
        "get",
        "/estates/{code}/confirmation-queue",
        "listConfirmationQueue",
        "'Call first' bookings waiting for a confirmation call",
        false,
    ),
    (
        "post",
        "/bookings/{id}/calls",
        "recordConfirmationCall",
        "Record a confirmation call: confirmed, no_answer or cancelled",
        true,
    ),
    (
        "post",
        "/bookings/{id}/visit",
        "recordVisitOutcome",
        "Record how a visit ended: paid, partly_paid, not_paid (reason) or owner_absent",
        true,
    ),
    (
        "post",
        "/bookings/{id}/assign",
        "assignBooking",
        "Move a booking onto a collector's route at a position (manual adjustment)",
        true,
    ),
    (
        "get",
        "/estates/{code}/dispatch",
        "getDispatchBoard",
        "A dispatch session: routes, unplanned and awaiting-call bookings",
        false,
    ),
    (
        "post",
        "/estates/{code}/dispatch/plan",
        "planDispatch",
        "Plan a session's routes for the collectors on duty",
        true,
    ),
    (
        "post",
        "/estates/{code}/dispatch/replan",
        "replanDispatch",
        "Re-plan from now: visits done stay, late visits push the rest",
        true,
    ),
    (
        "post",
        "/estates/{code}/dispatch/lock",
        "lockDispatch",
        "Lock (publish) or unlock a session's routes",
        true,
    ),
    (
        "get",
        "/estates/{code}/itinerary",
        "getItinerary",
        "A collector's stops for a day with ETAs and the route on the site plan (SVG)",
        false,
    ),
    (
        "get",
        "/estates/{code}/booking-rules",
        "getBookingRules",
        "Visiting windows, slot length, capacity, cut-off",
        false,
    ),
    (
        "put",
        "/estates/{code}/booking-rules",
        "setBookingRules",
        "Change visiting windows, slot length, capacity, cut-off",
        true,
    ),
    (
        "put",
        "/estates/{code}/booking-days/{date}",
        "setBookingDay",
        "Mark a day as holiday, make-up workday, closed, or special hours",
        true,
    ),
    (
        "delete",
        "/estates/{code}/booking-days/{date}",
        "clearBookingDay",
        "Remove a day's exception",
        false,
    ),
    (
        "get",
        "/estates/{code}/duty",
        "getDuty",
        "Collectors of the estate and whether each is on duty on a date",
        false,
    ),
    (
        "put",
        "/estates/{code}/duty/{date}/{user_id}",
        "setDuty",
        "Put a collector on or off duty for a date",
        true,
    ),
    (
        "get",
        "/estates/{code}/walking-model",
        "getWalkingModel",
        "The estate's walking model (text)",
        false,
    ),
    (
        "put",
        "/estates/{code}/walking-model",
        "setWalkingModel",
        "Replace the estate's walking model (text body; checked before storing)",
        true,
    ),
    (
        "get",
        "/outbox",
        "listOutbox",
        "Queued and sent messages (SMS codes, reminders) of the user's estates",
        false,
    ),
    (
        "get",
        "/estates/{code}/collector/stops",
        "listCollectorStops",
        "The signed-in collector's stops for a day, in route order, each with what is due now (lines due on or before today, late fees as of today: `due_now`, `lines`) and, apart, the bills not yet due (`not_yet_due`, an optional prepayment)",
        false,
    ),
    (
        "get",
        "/visits/{id}",
        "getCollectorStop",
        "One stop of the collector's route with what is due now (`due_now`, `lines`: due on or before today, late fees as of today — the owner's page shows the same figure), the bills not yet due apart (`not_yet_due`, `not_yet_due_total`: an optional prepayment, `allow_prepay`), check-ins, payments and signatures; `open_orders`: its QR and payment-code orders still open (shown again after a reload, with their QR and a cancel button); `unsigned_payments`: the collector's payments there not signed for yet, each with what it paid",
        false,
    ),
    (
        "post",
        "/visits/{id}/check-in",
        "checkIn",
        "Record the collector's location on arrival; the verdict says whether it is inside the building's geofence (outside or no fix is recorded and flagged)",
        true,
    ),
    (
        "post",
        "/visits/{id}/cash",
        "recordCashPayment",
        "Cash counted at the door: applied oldest first (late fee before principal), partial allowed, change computed; the client key records it once. A signature that named this client key (offline) is linked to the payment. 409 `held_by_open_order` (message in the collector's language, `open_orders`) when the bills are held by an open QR or payment-code order",
        true,
    ),
    (
        "post",
        "/visits/{id}/qr",
        "createQrPayment",
        "A dynamic QR code for the exact amount (WeChat Pay Native / Alipay precreate), expiring after the estate's QR expiry; the order holds and pays the bills due now, plus those not yet due with `prepay`. 409 `held_by_open_order` (message in the collector's language, `open_orders`) when the bills are held by an open order: finish or cancel that one",
        true,
    ),
    (
        "post",
        "/visits/{id}/code-payment",
        "createCodePayment",
        "Charge the owner's payment code (付款码) scanned by the collector; pays the bills due now, plus those not yet due with `prepay`; waits while the payer enters a password, then reverses if unpaid. 409 `held_by_open_order` (message in the collector's language, `open_orders`) when the bills are held by an open order",
        true,
    ),
    (
        "post",
        "/visits/{id}/signature",
        "recordSignature",
        "The owner's signature: strokes with times and the PNG, bound to the SHA-256 of the canonical JSON shown and to the payment it confirms — by `payment_id`, or by `payment_key` (the client key of cash taken offline: linked when that payment is recorded, in either order). The payment must be the collector's at this visit and estate, for the amount shown (`amount_fen` in `shown`); one signature per payment (409 for a second); until the visit is closed",
        true,
    ),
    (
        "get",
        "/payments/{id}",
        "getPayment",
        "A payment order's state (an open order is checked with the provider)",
        false,
    ),
    (
        "get",
        "/payments/{id}/events",
        "paymentEvents",
        "Server-sent events: the order's state whenever it changes, until it is paid, closed or failed",
        false,
    ),
    (
        "post",
        "/payments/{id}/cancel",
        "cancelPayment",
        "Cancel an unpaid order: closed at the provider first",
        false,
    ),
    (
        "post",
        "/sync",
        "syncOfflineActions",
        "Apply actions queued on the phone while offline (check-ins, cash, signatures, outcomes), each exactly once by its client key; a signature names its cash by `payment_key` (that action's client key) and is linked to the payment whichever of the two arrives first",
        true,
    ),
    (
        "post",
        "/estates/{code}/shifts",
        "openShift",
        "The collector opens a shift",
        false,
    ),
    (
        "get",
        "/estates/{code}/shifts",
        "getMyShift",
        "The collector's open shift, if any",
        false,
    ),
    (
        "post",
        "/shifts/{id}/close",
        "closeShift",
        "Close a shift",
        false,
    ),
    (
        "post",
        "/shifts/{id}/handover",
        "submitHandover",
        "Finance's blind count of a closed shift's cash (counted, and a reason when it differs from the ledger); a difference waits in suspense for the collector's answer and a third person's approval",
        true,
    ),
    (
        "post",
        "/shifts/{id}/handover/acknowledgement",
        "acknowledgeHandover",
        "The collector acknowledges the difference found at their shift's handover, or disputes it with a note",
        true,
    ),
    (
        "post",
        "/shifts/{id}/handover/approval",
        "approveHandoverDifference",
        "Finance approves a handover difference the collector has answered (never the counter or the collector): it moves to over/short",
        false,
    ),
    (
        "get",
        "/estates/{code}/cash",
        "getCashStatus",
        "Cash held per collector, alerts (too much, too long), shifts waiting for a handover",
        false,
    ),
    (
        "post",
        "/estates/{code}/daily-close",
        "closeDay",
        "Close a day at an estate (every shift handed over, the ledger clean)",
        true,
    ),
    (
        "post",
        "/payments-recorded/{id}/reversals",
        "requestReversal",
        "Ask for a void (cash) or refund (provider) of a payment; someone else approves",
        true,
    ),
    (
        "post",
        "/reversals/{id}/decision",
        "decideReversal",
        "Finance approves (void at once; refund through the provider) or rejects; never the requester",
        true,
    ),
    (
        "get",
        "/estates/{code}/reversals",
        "listReversals",
        "Voids and refunds of an estate",
        false,
    ),
    (
        "post",
        "/estates/{code}/reconciliations",
        "reconcileProvider",
        "Compare a day's QR takings with the provider's bill file; lists missing, extra and differing transactions",
        true,
    ),
    (
        "get",
        "/estates/{code}/ledger-check",
        "checkLedger",
        "Every entry balances, reversals mirror, payments have entries, receivables match the bills",
        false,
    ),
    (
        "get",
        "/provider-events",
        "listProviderEvents",
        "Provider notifications received and what became of each (finance)",
        false,
    ),
    (
        "get",
        "/estates/{code}/geofences",
        "listGeofences",
        "Geofences of buildings and parking levels",
        false,
    ),
    (
        "put",
        "/estates/{code}/geofences",
        "setGeofence",
        "Set a building's or parking level's geofence (centre, radius)",
        true,
    ),
    (
        "post",
        "/pay/notify/wechat/{merchant}",
        "wechatpayNotify",
        "WeChat Pay notification endpoint (notify_url): signed, AEAD-encrypted; answered 200/204 or 4xx/5xx with {code, message}",
        true,
    ),
    (
        "post",
        "/pay/notify/alipay/{merchant}",
        "alipayNotify",
        "Alipay notification endpoint (notify_url): form-encoded, RSA2-signed; answered with the body `success`",
        true,
    ),
    (
        "get",
        "/receipts/{id}",
        "getReceipt",
        "A receipt: number, status (pending/issued/void), the signed note, its SHA-256, the evidence record's leaf index, the owner's link",
        false,
    ),
    (
        "get",
        "/receipts/{id}/pdf",
        "downloadReceipt",
        "The receipt as PDF (query format=a4|a5|80mm), with the company's seal, the QR code to the verification page and the signed note embedded",
        false,
    ),
    (
        "post",
        "/receipts/{id}/void",
        "voidReceipt",
        "Ask for the receipt to be voided (a void of its payment); finance approves with decideReversal (never the requester); the void is logged as evidence and the receipt stays verifiable as void",
        true,
    ),
    (
        "post",
        "/receipts/verify",
        "verifyReceipt",
        "Verify a receipt: a PDF (Content-Type application/pdf; valid only when its pages are byte for byte what its embedded note renders to), or JSON {note}, or {company_id, number, code}. By number alone the answer is only exists / void / invalid; with the printed verification code, the verdict with the amount, date and masked payer (summary). Number lookups are limited per client (429 with Retry-After). Public",
        true,
    ),
    (
        "get",
        "/payments/{id}/receipt",
        "getPaymentReceipt",
        "The receipt of a payment",
        false,
    ),
    (
        "get",
        "/receipt-links/{token}",
        "getReceiptByToken",
        "The receipt behind an owner's link (the verified content and status). Public: the token is the secret",
        false,
    ),
    (
        "post",
        "/receipt-links/{token}/invoice",
        "requestInvoice",
        "Ask for an invoice (发票) for the receipt: personal or company title, the unified social credit code (GB 32100-2015 check), email or phone; one live request per payment line. Public: the token is the secret",
        true,
    ),
    (
        "get",
        "/invoice-requests",
        "listInvoiceRequests",
        "The invoice queue (finance), by estate and status; format=xlsx gives the Excel export for manual issuing",
        false,
    ),
    (
        "post",
        "/invoice-requests/{id}/outcome",
        "recordInvoiceOutcome",
        "Record a request's outcome: issued (invoice number, file link) or failed (reason; frees the lines for a new request)",
        true,
    ),
    (
        "get",
        "/fee-items/{id}/tax",
        "getFeeItemTax",
        "A fee item's tax classification code and VAT rate (basis points)",
        false,
    ),
    (
        "put",
        "/fee-items/{id}/tax",
        "setFeeItemTax",
        "Set a fee item's tax classification code (19 digits) and VAT rate (basis points: 600 = 6%)",
        true,
    ),
    (
        "get",
        "/evidence/checkpoint",
        "getCheckpoint",
        "The newest signed checkpoint of the company's evidence log (C2SP signed note: origin, size, root), signing one if the log grew",
        false,
    ),
    (
        "get",
        "/evidence/records/{index}/proof",
        "getEvidenceProof",
        "A record of the evidence log with its inclusion proof against the newest signed checkpoint",
        false,
    ),
    (
        "get",
        "/evidence/consistency",
        "getConsistencyProof",
        "A consistency proof between two tree sizes (query from, to) of the company's log",
        false,
    ),
    (
        "get",
        "/evidence/keys",
        "listSigningKeys",
        "The company's signing keys (current and retired; public halves only)",
        false,
    ),
    (
        "get",
        "/evidence/audit",
        "auditEvidence",
        "Audit the stored log: records against their leaf hashes, gaps, swaps, and every signed checkpoint recomputed from the records (finance)",
        false,
    ),
    (
        "get",
        "/estates/{code}/evidence/export",
        "exportEvidence",
        "A dispute bundle (ZIP) for rooms/spaces (query room=ID, space=ID, repeatable): records, inclusion proofs, the signed checkpoint, the keys, signature images and receipts, with the verification procedure",
        false,
    ),
    (
        "post",
        "/signing-keys/rotate",
        "rotateSigningKey",
        "Rotate the company's Ed25519 signing key (admin); the old key is retired and still verifies what it signed",
        false,
    ),
    (
        "get",
        "/companies/{id}/checkpoint",
        "getPublicCheckpoint",
        "A company's newest signed checkpoint. Public",
        false,
    ),
    (
        "get",
        "/companies/{id}/keys",
        "getPublicKeys",
        "A company's verifier keys. Public",
        false,
    ),
    (
        "post",
        "/estates/{code}/notices",
        "sendOverdueNotices",
        "Send overdue notices (SMS or WeChat template message, through the outbox) to the owners of rooms/spaces with arrears: quiet hours hold them until morning, a room is not dunned again within the estate's days or beyond its monthly ceiling (listed as held, with when), only that room's amounts, late fees with their contract basis",
        true,
    ),
    (
        "get",
        "/estates/{code}/notices",
        "listNotices",
        "Notices sent: who (room/space, recipient), what, when, channel, and whether delivered (sent_at)",
        false,
    ),
    (
        "get",
        "/estates/{code}/notice-settings",
        "getNoticeSettings",
        "The estate's notice settings: contract clause, office phone, quiet hours, days between notices, monthly ceiling",
        false,
    ),
    (
        "put",
        "/estates/{code}/notice-settings",
        "setNoticeSettings",
        "Set them (finance)",
        true,
    ),
    (
        "post",
        "/estates/{code}/disputes",
        "openDispute",
        "Log a dispute or complaint (owner, topic, optional room or space)",
        true,
    ),
    (
        "get",
        "/estates/{code}/disputes",
        "listDisputes",
        "The disputes and complaints log",
        false,
    ),
    (
        "post",
        "/estates/{code}/disputes/{id}/close",
        "closeDispute",
        "Close a dispute with its outcome",
        true,
    ),
    (
        "get",
        "/estates/{code}/reports/collection",
        "getCollectionReport",
        "The collection rate (收缴率 = received ÷ receivable) of a period as of a day, current period and arrears apart, by estate, building and fee item; the previous period, the last twelve periods, cash held, handovers pending, reconciliation mismatches and disputes opened/closed in the period; format=xlsx for Excel",
        false,
    ),
    (
        "get",
        "/reports/company",
        "getCompanyReport",
        "The company-wide collection rate of a period: all estates the caller may see together and one by one (lowest rate first) with their previous period, the twelve-period trend, cash and disputes; format=xlsx for Excel",
        false,
    ),
    (
        "get",
        "/reports/export",
        "exportReport",
        "The collection report of one estate (estate=code) or of the whole company as an Excel workbook (.xlsx) with Chinese headers: rates, trend, cash and disputes",
        false,
    ),
    (
        "get",
        "/estates/{code}/reports/visits",
        "getVisitReport",
        "Visits from..to: share at night (slot from 19:00) and at weekends, arrivals within the booked slot, average minutes per visit, visits per collector per session, households per collector per month; in total and per collector",
        false,
    ),
    (
        "get",
        "/estates/{code}/notices/print",
        "printNotices",
        "Printable overdue notices (PDF, A4 or A5): one per room/space with arrears (or the room/space asked for), with the amounts, each late fee's calculation and contract basis, and a QR code to the owner's page (no certificate number needed); each is recorded as a print notice",
        false,
    ),
];

fn params(path: &str, id: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for name in [
        "code", "id", "date", "user_id", "merchant", "token", "index",
    ] {
        if path.contains(&format!("{{{name}}}")) {
            let schema = match name {
                "id" | "user_id" | "merchant" | "index" => json!({"type": "integer"}),
                "date" => json!({"type": "string", "format": "date"}),
                _ => json!({"type": "string"}),
            };
            out.push(json!({"name": name, "in": "path", "required": true, "schema": schema}));
        }
    }
    let query = |name: &str, schema: Value, description: &str| json!({"name": name, "in": "query", "required": false, "schema": schema, "description": description});
    match id {
        "listArrears" => {
            out.push(query(
                "as_of",
                json!({"type": "string", "format": "date"}),
                "late fees as of this date (default: today at the estate)",
            ));
            out.push(query(
                "q",
                json!({"type": "string"}),
                "room/space label, owner name or phone contains",
            ));
        }
        "listSlots" => {
            out.push(query(
                "from",
                json!({"type": "string", "format": "date"}),
                "first day (default: today at the estate)",
            ));
            out.push(query(
                "days",
                json!({"type": "integer", "default": 7, "maximum": 31}),
                "how many days",
            ));
        }
        "downloadReceipt" => out.push(query(
            "format",
            json!({"type": "string", "enum": ["a4", "a5", "80mm"], "default": "a4"}),
            "page layout: A4, A5 or the 80 mm thermal slip",
        )),
        "listInvoiceRequests" => {
            out.push(query("estate", json!({"type": "string"}), "estate code"));
            out.push(query(
                "status",
                json!({"type": "string", "enum": ["requested", "issued", "failed"]}),
                "only requests in this state",
            ));
            out.push(query(
                "format",
                json!({"type": "string", "enum": ["json", "xlsx"]}),
                "xlsx: the Excel export with Chinese headers",
            ));
        }
        "getCollectionReport" | "getCompanyReport" | "exportReport" => {
            if id == "exportReport" {
                out.push(query(
                    "estate",
                    json!({"type": "string"}),
                    "an estate's code; without it, the whole company",
                ));
            }
            out.push(query(
                "period",
                json!({"type": "string", "example": "2026-11"}),
                "the period (required)",
            ));
            out.push(query(
                "as_of",
                json!({"type": "string", "format": "date"}),
                "as of this day (default: today or the period's end)",
            ));
            if id != "exportReport" {
                out.push(query(
                    "format",
                    json!({"type": "string", "enum": ["json", "xlsx"]}),
                    "xlsx: the Excel export",
                ));
            }
        }
        "printNotices" => {
            out.push(query(
                "format",
                json!({"type": "string", "enum": ["a4", "a5"], "default": "a4"}),
                "paper",
            ));
            out.push(query(
                "as_of",
                json!({"type": "string", "format": "date"}),
                "arrears as of this day",
            ));
            out.push(query("room", json!({"type": "integer"}), "only this room"));
            out.push(query(
                "space",
                json!({"type": "integer"}),
                "only this space",
            ));
        }
        "getVisitReport" => {
            out.push(query(
                "from",
                json!({"type": "string", "format": "date"}),
                "first day (required)",
            ));
            out.push(query(
                "to",
                json!({"type": "string", "format": "date"}),
                "last day (required)",
            ));
            out.push(query(
                "format",
                json!({"type": "string", "enum": ["json", "xlsx"]}),
                "xlsx: the Excel export",
            ));
        }
        "getConsistencyProof" => {
            out.push(query("from", json!({"type": "integer"}), "older tree size"));
            out.push(query("to", json!({"type": "integer"}), "newer tree size"));
        }
        "exportEvidence" => {
            out.push(query(
                "room",
                json!({"type": "integer"}),
                "a room id (repeatable)",
            ));
            out.push(query(
                "space",
                json!({"type": "integer"}),
                "a space id (repeatable)",
            ));
        }
        "listOwnerTargets" => out.push(query(
            "as_of",
            json!({"type": "string", "format": "date"}),
            "late fees as of this day (e.g. the visit day)",
        )),
        "listBookings" => {
            out.push(query(
                "date",
                json!({"type": "string", "format": "date"}),
                "day (default today)",
            ));
            out.push(query(
                "status",
                json!({"type": "string"}),
                "comma-separated statuses",
            ));
        }
        "getDispatchBoard" => {
            out.push(query(
                "date",
                json!({"type": "string", "format": "date"}),
                "day (default today)",
            ));
            out.push(query(
                "window",
                json!({"type": "string", "example": "19:00"}),
                "the session's window start (default: the day's first)",
            ));
        }
        "listCollectorStops" => out.push(query(
            "date",
            json!({"type": "string", "format": "date"}),
            "day (default today)",
        )),
        "listProviderEvents" => out.push(query(
            "out_trade_no",
            json!({"type": "string"}),
            "only this order",
        )),
        "getItinerary" => {
            out.push(query(
                "date",
                json!({"type": "string", "format": "date"}),
                "day (default today)",
            ));
            out.push(query(
                "collector",
                json!({"type": "integer"}),
                "collector user id (dispatch staff; default: yourself)",
            ));
        }
        "getDuty" => out.push(query(
            "date",
            json!({"type": "string", "format": "date"}),
            "day (default today)",
        )),
        "listOutbox" => {
            out.push(query(
                "recipient",
                json!({"type": "string"}),
                "phone number",
            ));
            out.push(query(
                "limit",
                json!({"type": "integer", "default": 50}),
                "at most",
            ));
        }
        "listRooms" | "listSpaces" | "listOwners" => {
            out.push(query("q", json!({"type": "string"}), "filter"));
            out.push(query(
                "limit",
                json!({"type": "integer", "default": 100, "maximum": 1000}),
                "page size",
            ));
            out.push(query(
                "offset",
                json!({"type": "integer", "default": 0}),
                "rows to skip",
            ));
        }
        _ => {}
    }
    out
}

/// The request body of an operation. Money is written in yuan as text
/// ("300.00") on input and returned as integer fen.
fn request_schema(id: &str) -> Value {
    let text = json!({"type": "string"});
    let int = json!({"type": "integer"});
    let obj = |required: &[&str], props: Value| json!({"type": "object", "required": required, "properties": props});
    match id {
        "login" => obj(
            &["username", "password"],
            json!({"username": text, "password": text}),
        ),
        "createEstate" | "updateEstate" => obj(
            &["code", "name"],
            json!({"code": {"type": "string", "pattern": "^[a-z0-9-]{1,32}$"}, "name": text, "timezone": text, "office": text}),
        ),
        "upsertBuilding" => obj(
            &["name", "entrances", "floors", "has_lift"],
            json!({"name": text, "entrances": int, "floors": int, "has_lift": {"type": "boolean"}}),
        ),
        "createRoom" | "updateRoom" => obj(
            &["building", "floor", "number", "area"],
            json!({"building": text, "entrance": text, "floor": int, "number": text, "area": {"type": "string", "description": "m², up to two decimals, e.g. \"89.50\""}}),
        ),
        "createSpace" | "updateSpace" => obj(&["code"], json!({"code": text, "level": text})),
        "createOwner" | "updateOwner" => obj(
            &["name", "phones"],
            json!({"name": text, "phones": {"type": "array", "items": text}, "room_ids": {"type": "array", "items": int}, "space_ids": {"type": "array", "items": int}}),
        ),
        "createFeeItem" | "updateFeeItem" => obj(
            &[
                "code", "name", "category", "basis", "cycle", "price", "due_day", "late_fee",
            ],
            json!({
                "code": text, "name": text,
                "category": {"type": "string", "enum": ["property", "parking", "on_behalf", "other"]},
                "basis": {"type": "string", "enum": ["per_area", "per_room", "per_space", "entered"]},
                "cycle": {"type": "string", "enum": ["monthly", "yearly"]},
                "price": {"type": "integer", "description": "fen per unit (per m² per month for per_area)"},
                "due_day": {"type": "integer", "minimum": 1, "maximum": 31},
                "active": {"type": "boolean"},
                "late_fee": obj(&["enabled", "grace_days", "daily_rate_ppm", "cap"], json!({
                    "enabled": {"type": "boolean"}, "grace_days": int,
                    "daily_rate_ppm": {"type": "integer", "description": "parts per million per day: 万分之五 = 500"},
                    "cap": {"type": "object", "properties": {"kind": {"type": "string", "enum": ["none", "principal", "fixed"]}, "fen": int}}
                }))
            }),
        ),
        "setEnteredAmounts" => obj(
            &["period", "amounts"],
            json!({"period": text, "amounts": {"type": "array", "items": obj(&["room_id", "amount"], json!({"room_id": int, "amount": text}))}}),
        ),
        "runBilling" => obj(
            &["period"],
            json!({"period": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$", "example": "2026-11"}}),
        ),
        "recordPayment" => obj(
            &["amount"],
            json!({"amount": text, "method": {"type": "string", "enum": ["cash", "wechat", "alipay", "bank", "other"]}, "room_ids": {"type": "array", "items": int},
                "space_ids": {"type": "array", "items": int}, "line_ids": {"type": "array", "items": int}, "paid_on": {"type": "string", "format": "date"}, "idempotency_key": text}),
        ),
        "waiveLateFee" | "waiveBillLine" => obj(&["reason"], json!({"reason": text})),
        "setDispute" => obj(
            &["reason"],
            json!({"reason": text, "disputed": {"type": "boolean", "default": true}}),
        ),
        "requestOwnerCode" => obj(
            &["phone"],
            json!({"phone": {"type": "string", "example": "13812345678"},
                "estate": {"type": "string", "example": "demo", "description": "the estate (code) whose property company the owner signs in to; the session reaches only that company"}}),
        ),
        "verifyOwnerCode" => obj(
            &["phone", "code"],
            json!({"phone": text, "code": {"type": "string", "pattern": "^[0-9]{6}$"}}),
        ),
        "createBooking" => obj(
            &["targets", "date", "start"],
            json!({
                "targets": {"type": "array", "minItems": 1, "items": obj(&["kind", "id"], json!({"kind": {"type": "string", "enum": ["room", "space"]}, "id": int}))},
                "date": {"type": "string", "format": "date"}, "start": {"type": "string", "example": "19:30"},
                "pays_cash": {"type": "boolean"}, "call_first": {"type": "boolean"}, "note": text,
                "contact_phone": {"type": "string", "description": "who to call (default: the owner's phone)"}
            }),
        ),
        "cancelBooking" => json!({"type": "object", "properties": {"reason": text}}),
        "rescheduleBooking" => obj(
            &["date", "start"],
            json!({"date": {"type": "string", "format": "date"}, "start": text}),
        ),
        "recordConfirmationCall" => obj(
            &["outcome"],
            json!({"outcome": {"type": "string", "enum": ["confirmed", "no_answer", "cancelled"]}, "note": text}),
        ),
        "recordVisitOutcome" => obj(
            &["result"],
            json!({"result": {"type": "string", "enum": ["paid", "partly_paid", "not_paid", "owner_absent"]}, "reason": text}),
        ),
        "assignBooking" => obj(
            &["collector_id"],
            json!({"collector_id": int, "position": {"type": "integer", "description": "1-based; 0 or past the end appends"}}),
        ),
        "planDispatch" | "replanDispatch" => {
            json!({"type": "object", "properties": {"date": {"type": "string", "format": "date"}, "window": {"type": "string", "example": "19:00"}, "time_limit_ms": int}})
        }
        "lockDispatch" => {
            json!({"type": "object", "properties": {"date": {"type": "string", "format": "date"}, "window": text, "locked": {"type": "boolean", "default": true}}})
        }
        "setBookingRules" => obj(
            &[
                "weekday",
                "weekend",
                "slot_minutes",
                "visits_per_collector",
                "cutoff_minutes",
                "reminder_minutes",
                "service_minutes",
                "horizon_days",
            ],
            json!({"weekday": {"type": "string", "example": "19:00-21:00"}, "weekend": {"type": "string", "example": "09:00-12:00, 14:00-18:00"},
                "slot_minutes": int, "visits_per_collector": int, "cutoff_minutes": int, "reminder_minutes": int, "service_minutes": int, "horizon_days": int}),
        ),
        "setBookingDay" => obj(
            &["kind"],
            json!({"kind": {"type": "string", "enum": ["holiday", "workday", "closed", "custom"]}, "windows": text, "note": text}),
        ),
        "setDuty" => obj(&["on_duty"], json!({"on_duty": {"type": "boolean"}})),
        "checkIn" => {
            json!({"type": "object", "properties": {"lat": {"type": "number"}, "lng": {"type": "number"}, "accuracy": {"type": "number", "description": "metres"},
            "fix_at_ms": int, "device": text, "client_key": text, "offline": {"type": "boolean"}}})
        }
        "recordCashPayment" => obj(
            &["amount", "client_key"],
            json!({"amount": {"type": "string", "example": "1234.50"}, "tendered": {"type": "string", "description": "cash handed over (≥ amount)"},
                "client_key": {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,80}$"}, "taken_at_ms": int, "offline": {"type": "boolean"},
                "shift_id": {"type": "integer", "description": "the collector's own shift at this estate the cash was taken under (offline records carry it, so a sync after the shift closed still lands in that shift until its handover)"},
                "prepay": {"type": "boolean", "default": false, "description": "also pay the bills not yet due (a prepayment the owner chose; only where the estate takes prepayments). By default only what is due now is paid"}}),
        ),
        "createQrPayment" => obj(
            &["provider", "amount"],
            json!({"provider": {"type": "string", "enum": ["wechat", "alipay"]}, "amount": text, "client_key": text,
                "prepay": {"type": "boolean", "default": false, "description": "the order also holds and pays the bills not yet due (a prepayment the owner chose; only where the estate takes prepayments, otherwise 422 naming prepay). By default it holds and pays only what is due now"}}),
        ),
        "createCodePayment" => obj(
            &["provider", "amount", "auth_code"],
            json!({"provider": {"type": "string", "enum": ["wechat", "alipay"]}, "amount": text,
                "auth_code": {"type": "string", "description": "WeChat: 18 digits starting 10–15; Alipay: 16–24 digits starting 25–30"}, "client_key": text,
                "prepay": {"type": "boolean", "default": false, "description": "the order also holds and pays the bills not yet due (a prepayment the owner chose; only where the estate takes prepayments, otherwise 422 naming prepay). By default it holds and pays only what is due now"}}),
        ),
        "recordSignature" => obj(
            &["shown", "strokes", "png_base64"],
            json!({"shown": {"type": "string", "description": "canonical JSON of what the owner saw: booking_id, amount_fen, lines, and the payment_id / payment_key given here"},
                "strokes": {"type": "object", "description": "{w, h, strokes: [[[x, y, t_ms], …], …]}"},
                "png_base64": text, "payment_id": {"type": "integer", "description": "the payment confirmed (give it or payment_key)"},
                "payment_key": {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,80}$", "description": "client key of the cash action confirmed (cash taken offline)"},
                "signed_at_ms": int, "client_key": text, "offline": {"type": "boolean"}}),
        ),
        "syncOfflineActions" => obj(
            &["actions"],
            json!({"actions": {"type": "array", "maxItems": 200, "items": {"type": "object", "required": ["kind", "booking_id"],
                "properties": {"kind": {"type": "string", "enum": ["checkin", "cash", "signature", "outcome"]}, "booking_id": int}}}}),
        ),
        "submitHandover" => obj(
            &["counted"],
            json!({"counted": {"type": "string", "example": "1234.50"},
                "reason": {"type": "string", "maxLength": 200, "description": "required when the count differs from the ledger"}}),
        ),
        "acknowledgeHandover" => obj(
            &[],
            json!({"dispute": {"type": "boolean", "default": false},
                "note": {"type": "string", "maxLength": 200, "description": "required with a dispute"}}),
        ),
        "closeDay" => {
            json!({"type": "object", "properties": {"date": {"type": "string", "format": "date"}}})
        }
        "requestReversal" => obj(
            &["kind", "reason"],
            json!({"kind": {"type": "string", "enum": ["void", "refund"]}, "reason": text}),
        ),
        "decideReversal" => obj(&["approve"], json!({"approve": {"type": "boolean"}})),
        "setCollectSettings" => obj(
            &[
                "allow_prepay",
                "qr_expiry_seconds",
                "cash_limit",
                "cash_limit_hours",
            ],
            json!({"allow_prepay": {"type": "boolean"}, "qr_expiry_seconds": {"type": "integer", "minimum": 60, "maximum": 7200},
                "cash_limit": {"type": "string", "example": "2000.00"}, "cash_limit_hours": int}),
        ),
        "voidReceipt" => obj(&["reason"], json!({"reason": text})),
        "sendOverdueNotices" => obj(
            &[],
            json!({"channel": {"type": "string", "enum": ["sms", "wechat"], "default": "sms"},
                "as_of": {"type": "string", "format": "date"}, "min_owed": {"type": "string", "example": "100.00"},
                "rooms": {"type": "array", "items": int}, "spaces": {"type": "array", "items": int}}),
        ),
        "setNoticeSettings" => obj(
            &[],
            json!({"contract_basis": {"type": "string", "example": "《物业服务合同》第十二条"}, "office_phone": text,
                "quiet_from": {"type": "string", "example": "21:00"}, "quiet_until": {"type": "string", "example": "08:00"},
                "min_days": int, "max_per_month": int}),
        ),
        "openDispute" => obj(
            &["owner", "topic"],
            json!({"owner": text, "topic": text, "room": int, "space": int}),
        ),
        "closeDispute" => obj(&["outcome"], json!({"outcome": text})),
        "verifyReceipt" => obj(
            &[],
            json!({"note": {"type": "string", "description": "the signed receipt note"}, "company_id": int, "number": int,
                "code": {"type": "string", "description": "the verification code printed on the receipt (验证码), e.g. 7K3M-Q9XD"}}),
        ),
        "requestInvoice" => obj(
            &["kind", "title"],
            json!({"kind": {"type": "string", "enum": ["personal", "company"]}, "title": {"type": "string", "description": "抬头"},
                "tax_id": {"type": "string", "description": "unified social credit code (required for company)"},
                "email": text, "phone": text, "address": text, "bank": text}),
        ),
        "recordInvoiceOutcome" => obj(
            &["status"],
            json!({"status": {"type": "string", "enum": ["issued", "failed"]}, "invoice_no": text, "file_url": text, "reason": text}),
        ),
        "setFeeItemTax" => obj(
            &["tax_code", "vat_rate_bp"],
            json!({"tax_code": {"type": "string", "pattern": "^[0-9]{19}$", "example": "3040801010000000000"}, "vat_rate_bp": {"type": "integer", "example": 600}}),
        ),
        "reconcileProvider" => obj(
            &["provider", "date"],
            json!({"provider": {"type": "string", "enum": ["wechat", "alipay"]}, "date": {"type": "string", "format": "date"}}),
        ),
        "setGeofence" => obj(
            &["area_kind", "area", "lat_e6", "lng_e6", "radius_m"],
            json!({"area_kind": {"type": "string", "enum": ["building", "parking"]}, "area": text,
                "lat_e6": {"type": "integer", "description": "latitude × 10⁶ (WGS-84)"}, "lng_e6": int, "radius_m": int}),
        ),
        "wechatpayNotify" => {
            json!({"type": "object", "description": "WeChat Pay notification envelope (id, event_type, resource{algorithm, ciphertext, nonce, associated_data})"})
        }
        _ => json!({"type": "object"}),
    }
}

/// A collector's stop: what is due now (due on or before today, estate
/// time; late fees as of today) and, apart, the bills not yet due.
fn stop_schema() -> Value {
    let fen = json!({"type": "integer", "description": "fen"});
    let lines = json!({"type": "array", "items": {"type": "object", "properties": {
        "line_id": {"type": "integer"}, "fee_item": {"type": "string"}, "period": {"type": "string"},
        "due_date": {"type": "string", "format": "date"}, "principal_owed": fen, "late_fee_owed": fen, "total_owed": fen}}});
    json!({"type": "object", "properties": {
        "due_now": {"type": "integer", "description": "fen due now: lines due on or before today with late fees as of today (the owner's page shows the same figure)"},
        "total": {"type": "integer", "description": "fen; the same as due_now"},
        "lines": {"description": "the lines due now, oldest first", "allOf": [lines]},
        "not_yet_due": {"description": "open lines not yet due: an optional prepayment, never charged unless chosen", "allOf": [lines]},
        "not_yet_due_total": fen,
        "allow_prepay": {"type": "boolean", "description": "the estate takes prepayments"}}})
}

/// The document served at `/api/openapi.json`.
pub fn openapi_document() -> Value {
    let mut paths = Map::new();
    for (method, path, id, summary, body) in OPERATIONS {
        let mut op = json!({
            "operationId": id,
            "summary": summary,
            "parameters": params(path, id),
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
                "401": {"$ref": "#/components/responses/Error"},
                "403": {"$ref": "#/components/responses/Error"},
                "404": {"$ref": "#/components/responses/Error"},
                "409": {"$ref": "#/components/responses/Error"},
                "422": {"$ref": "#/components/responses/Error"}
            }
        });
        if *body {
            op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": request_schema(id)}}});
        }
        // What is due now and what is not yet due, told apart.
        if *id == "getCollectorStop" {
            op["responses"]["200"]["content"]["application/json"]["schema"] = stop_schema();
        }
        if *id == "listCollectorStops" {
            op["responses"]["200"]["content"]["application/json"]["schema"] = json!({"type": "object",
                "properties": {"date": {"type": "string", "format": "date"}, "routes": {"type": "array", "items": {"type": "object"}},
                    "stops": {"type": "array", "items": stop_schema()}}});
        }
        if *id == "alipayNotify" {
            op["requestBody"] = json!({"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}}});
        }
        if *id == "setWalkingModel" {
            op["requestBody"] = json!({"required": true, "content": {"text/plain": {"schema": {"type": "string"}}}});
        }
        if matches!(
            *id,
            "login"
                | "requestOwnerCode"
                | "verifyOwnerCode"
                | "listSlots"
                | "wechatpayNotify"
                | "alipayNotify"
                | "verifyReceipt"
                | "getReceiptByToken"
                | "requestInvoice"
                | "getPublicCheckpoint"
                | "getPublicKeys"
        ) {
            op["security"] = json!([]);
        }
        // The providers' notification endpoints live outside /api/v1.
        let full = if path.starts_with("/pay/") {
            path.to_string()
        } else {
            format!("/api/v1{path}")
        };
        let entry = paths.entry(full).or_insert_with(|| json!({}));
        entry[*method] = op;
    }
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Doorstep API", "version": env!("CARGO_PKG_VERSION"), "description": "门口收费 — property-fee collection. Money is integer fen; dates are local to the estate."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {"Error": {"description": "Error", "content": {"application/json": {"schema": {
                "type": "object", "required": ["error", "message"],
                "properties": {"error": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"}}
            }}}}}
        },
        "paths": paths
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_a_unique_id() {
        let doc = openapi_document();
        let mut ids = Vec::new();
        for (_, item) in doc["paths"].as_object().unwrap() {
            for (_, op) in item.as_object().unwrap() {
                ids.push(op["operationId"].as_str().unwrap().to_string());
            }
        }
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n);
        for needed in [
            "login",
            "listEstates",
            "listArrears",
            "runBilling",
            "checkIn",
            "recordCashPayment",
            "createQrPayment",
            "createCodePayment",
            "getPayment",
            "recordSignature",
            "syncOfflineActions",
            "openShift",
            "closeShift",
            "submitHandover",
            "acknowledgeHandover",
            "approveHandoverDifference",
            "reconcileProvider",
            "wechatpayNotify",
            "alipayNotify",
            "getReceipt",
            "downloadReceipt",
            "verifyReceipt",
            "voidReceipt",
            "requestInvoice",
            "listInvoiceRequests",
            "getEvidenceProof",
            "getCheckpoint",
            "exportEvidence",
            "sendOverdueNotices",
            "listNotices",
            "getCollectionReport",
            "getVisitReport",
        ] {
            assert!(ids.iter().any(|i| i == needed), "{needed}");
        }
    }
}
