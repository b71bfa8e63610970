//! The audit log (admin): newest first, a hundred a page, people named by email beside
//! their id, and the chain's verification.

use super::*;
use crate::audit::Verification;
use crate::http::audit::AuditPage;
use crate::http::identity::UserList;

pub(super) async fn audit(Query(q): Params, s: Signed) -> Response {
    let org = s.org();
    let verification_answer = s.get(&format!("/api/orgs/{org}/audit/verify")).await;
    let Some(verification) = verification_answer.read::<Verification>() else {
        return s.problem(&verification_answer, "Audit log");
    };
    let total = verification.entries;
    // Newest first, a hundred a page: page 0 is the latest hundred.
    let pages = total.div_ceil(100).max(1);
    let at = q
        .get("page")
        .and_then(|p| p.parse::<u64>().ok())
        .unwrap_or(0)
        .min(pages - 1);
    let upper = total - (at * 100).min(total);
    let after = upper.saturating_sub(100);
    let limit = (upper - after).max(1);
    let page = s
        .get(&format!(
            "/api/orgs/{org}/audit?after={after}&limit={limit}"
        ))
        .await;
    let mut entries = page
        .read::<AuditPage>()
        .map(|p| p.entries)
        .unwrap_or_default();
    entries.reverse();
    let verify = q.contains_key("verify");
    // Who each `user:<id>` is, for people reading the log (the entry keeps the id).
    let people: HashMap<String, String> = s
        .get(&format!("/api/orgs/{org}/users"))
        .await
        .read::<UserList>()
        .map(|l| l.users)
        .unwrap_or_default()
        .into_iter()
        .map(|u| (format!("user:{}", u.user_id), u.email))
        .collect();
    s.page(
        StatusCode::OK,
        "Audit log",
        html! {
            form.inline method="get" action="/console/audit" {
                input type="hidden" name="verify" value="1";
                button type="submit" { "Verify chain" }
            }
            nav.pager aria-label="Pages" {
                @if at > 0 { a href={"/console/audit?page=" (at - 1)} { "← Newer" } }
                span { "Entries " (after + 1) "–" (upper) " of " (total) }
                @if at + 1 < pages { a href={"/console/audit?page=" (at + 1)} { "Older →" } }
            }
            @if verify {
                @if verification.ok {
                    p.notice.done role="status" { "The chain holds: " (total) " entries, each sealed to the one before." }
                } @else {
                    p.notice.problem role="alert" { "The chain does not hold from entry " (verification.first_bad_seq.map(|n| n.to_string()).unwrap_or_default()) ". Keep this appliance as it is and contact support." }
                }
            }
            table {
                thead { tr { th scope="col" { "#" } th scope="col" { "When" } th scope="col" { "Who" } th scope="col" { "What" } th scope="col" { "On" } th scope="col" { "Outcome" } } }
                tbody {
                    @for e in &entries {
                        tr {
                            td { (e.seq) }
                            td { (super::views::when(&e.at, s.timezone)) }
                            td {
                                @match people.get(&e.actor) {
                                    Some(email) => { (email) br; small { (e.actor) } },
                                    None => (e.actor),
                                }
                            }
                            td { (e.action.replace('_', " ")) }
                            td { (e.target) }
                            td { (status_badge(e.outcome.as_str())) }
                        }
                    }
                }
            }
        },
    )
}
