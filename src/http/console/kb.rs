//! The knowledge base: documents listed, added, edited and deleted, "try a question" with
//! the passages found, and the questions the agent could not answer.

use super::*;
use crate::http::kb::{DocumentList, DocumentView, SearchResults, UnansweredList};

pub(super) async fn kb(Query(q): Params, s: Signed) -> Response {
    let org = s.org();
    let docs = s.get(&format!("/api/orgs/{org}/kb/documents")).await;
    if !docs.ok() {
        return s.problem(&docs, "Knowledge base");
    }
    let docs = docs
        .read::<DocumentList>()
        .map(|l| l.documents)
        .unwrap_or_default();
    let question = q.get("q").cloned().unwrap_or_default();
    let results = if question.trim().is_empty() {
        None
    } else {
        let a = s
            .get(&format!(
                "/api/orgs/{org}/kb/search?q={}&k=5",
                query_encode(&question)
            ))
            .await;
        Some(a)
    };
    let unanswered = if s.role() == Role::Clinician {
        Vec::new()
    } else {
        s.get(&format!("/api/orgs/{org}/kb/unanswered"))
            .await
            .read::<UnansweredList>()
            .map(|l| l.unanswered)
            .unwrap_or_default()
    };
    let can_write = s.role() != Role::Clinician;
    let csrf = s.session.csrf.clone();
    s.page(
        StatusCode::OK,
        "Knowledge base",
        html! {
            section aria-labelledby="try" {
                h2 id="try" { "Try a question" }
                form.card method="get" action="/console/kb" {
                    (field("A question a caller might ask", "q", "search", &question, true))
                    button type="submit" { "Ask" }
                }
                @if let Some(a) = &results {
                    @if !a.ok() { p.notice.problem role="alert" { (a.message()) } }
                    @else {
                        @let hits = a.read::<SearchResults>().map(|r| r.results).unwrap_or_default();
                        @if hits.is_empty() { p { "Nothing in the documents answers this; the voice agent would say it does not know." } }
                        ol.results {
                            @for h in &hits {
                                li {
                                    strong { (h.title) }
                                    " — similarity " (format!("{:.2}", f64::from(h.similarity.unwrap_or(0.0))))
                                    ", score " (format!("{:.2}", f64::from(h.score)))
                                    p { (h.text) }
                                }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="docs" {
                h2 id="docs" { "Documents" }
                @if docs.is_empty() { p { "No documents yet." } }
                ul {
                    @for d in &docs {
                        li {
                            a href={"/console/kb/" (d.id)} { (d.title) }
                            " (" (d.chunks) " passages)"
                            @if can_write { " " (button_form(&format!("/console/kb/{}/delete", d.id), &csrf, "Delete", "danger")) }
                        }
                    }
                }
                @if can_write {
                    h3 { "Add a document" }
                    form.card method="post" action="/console/kb" {
                        (csrf_field(&csrf))
                        (field("Title", "title", "text", "", true))
                        label { span { "Text" } textarea name="body" rows="8" required {} }
                        (field("Tags (comma-separated, optional)", "tags", "text", "", false))
                        button type="submit" { "Add" }
                    }
                }
            }
            @if !unanswered.is_empty() {
                section aria-labelledby="unanswered" {
                    h2 id="unanswered" { "Questions the agent could not answer" }
                    ul {
                        @for u in &unanswered {
                            li { (u.question_redacted) " — " small { (super::views::when(&u.at, s.timezone)) } }
                        }
                    }
                }
            }
        },
    )
}

pub(super) fn document_body(form: &HashMap<String, String>) -> Value {
    let tags: Vec<String> = form
        .get("tags")
        .map(|t| {
            t.split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect()
        })
        .unwrap_or_default();
    json!({
        "title": form.get("title").cloned().unwrap_or_default(),
        "body": form.get("body").cloned().unwrap_or_default(),
        "tags": tags,
    })
}

pub(super) async fn kb_add(Posted { s, form }: Posted) -> Response {
    let answer = s
        .call(
            Method::POST,
            &format!("/api/orgs/{}/kb/documents", s.org()),
            Some(document_body(&form)),
        )
        .await;
    if !answer.ok() {
        return s.problem(&answer, "The document was not added");
    }
    s.after(
        "/console/kb",
        Notice::Done("Document added; the voice agent can use it now.".into()),
    )
}

pub(super) async fn kb_edit(Path(id): Path<String>, s: Signed) -> Response {
    let answer = s
        .get(&format!(
            "/api/orgs/{}/kb/documents/{}",
            s.org(),
            query_encode(&id)
        ))
        .await;
    let Some(d) = answer.read::<DocumentView>() else {
        return s.problem(&answer, "Document");
    };
    let tags = d.tags.join(", ");
    let body = d.body.as_deref().unwrap_or("");
    let can_write = s.role() != Role::Clinician;
    s.page(
        StatusCode::OK,
        &d.title,
        html! {
            @if can_write {
                form.card method="post" action={"/console/kb/" (id)} {
                    (csrf_field(&s.session.csrf))
                    (field("Title", "title", "text", &d.title, true))
                    label { span { "Text" } textarea name="body" rows="14" required { (body) } }
                    (field("Tags (comma-separated, optional)", "tags", "text", &tags, false))
                    button type="submit" { "Save" }
                }
            } @else {
                pre.document { (body) }
            }
            p { a href="/console/kb" { "Back to the knowledge base" } }
        },
    )
}

pub(super) async fn kb_save(Path(id): Path<String>, Posted { s, form }: Posted) -> Response {
    let answer = s
        .call(
            Method::PUT,
            &format!("/api/orgs/{}/kb/documents/{}", s.org(), query_encode(&id)),
            Some(document_body(&form)),
        )
        .await;
    if !answer.ok() {
        return s.problem(&answer, "The document was not saved");
    }
    s.after("/console/kb", Notice::Done("Document saved.".into()))
}

pub(super) async fn kb_delete(Path(id): Path<String>, Posted { s, .. }: Posted) -> Response {
    let answer = s
        .call(
            Method::DELETE,
            &format!("/api/orgs/{}/kb/documents/{}", s.org(), query_encode(&id)),
            None,
        )
        .await;
    if !answer.ok() {
        return s.problem(&answer, "The document was not deleted");
    }
    s.after("/console/kb", Notice::Done("Document deleted.".into()))
}
