//! The evidence log (电子存证): signed checkpoints, inclusion and
//! consistency proofs served from the stored tree, dispute bundles for one
//! owner, and the audit that finds tampering.
//!
//! Records are appended by the store inside the transaction of what they
//! record (check-in, signature, visit outcome, receipt void) or of the
//! receipt's signing (payment); this module only reads the tree.

use crate::receipt::origin;
use crate::{App, AppError, AppResult, now, require};
use doorstep_domain::{ObjectKind, Permission};
use doorstep_merkle::note::{Checkpoint, Verifier};
use doorstep_merkle::{MemStore, Recorder};
use doorstep_store::{StoredCheckpoint, User};
use serde::Serialize;

/// The lease name of the checkpoint job.
pub const CHECKPOINT_JOB: &str = "checkpointer";

/// An inclusion proof of one record, against a signed checkpoint.
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceProof {
    /// The log's origin.
    pub origin: String,
    /// The record's leaf index.
    pub index: u64,
    /// Its kind.
    pub kind: String,
    /// The record (RFC 8785 JSON text).
    pub record: String,
    /// SHA-256(0x00 ‖ record), hex.
    pub leaf_hash: String,
    /// Tree size of the checkpoint.
    pub tree_size: u64,
    /// The path from the leaf to the root, hex, deepest first.
    pub inclusion: Vec<String>,
    /// The root, hex.
    pub root: String,
    /// The signed checkpoint note.
    pub checkpoint: String,
    /// Whether the proof verified here before being handed out.
    pub verified: bool,
}

/// A consistency proof between two checkpoints.
#[derive(Debug, Clone, Serialize)]
pub struct ConsistencyProof {
    /// Older size.
    pub from_size: u64,
    /// Newer size.
    pub to_size: u64,
    /// The proof, hex.
    pub proof: Vec<String>,
}

/// What an audit of the stored log found.
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    /// Company.
    pub company_id: i64,
    /// Records in the log.
    pub size: u64,
    /// Checkpoints checked.
    pub checkpoints: usize,
    /// One line per finding (empty when intact).
    pub findings: Vec<String>,
}

impl App {
    async fn nodes_for(
        &self,
        company_id: i64,
        f: impl FnOnce(&Recorder) -> Result<(), doorstep_merkle::ProofError>,
    ) -> AppResult<MemStore> {
        let r = Recorder::new();
        f(&r).map_err(|e| AppError::Conflict(e.to_string()))?;
        let mut tree = MemStore::new();
        for ((l, i), h) in self.store.merkle_nodes(company_id, &r.nodes()).await? {
            tree.insert(l, i, h);
        }
        Ok(tree)
    }

    /// The root of a company's log at `size`, from the stored nodes.
    pub async fn log_root(&self, company_id: i64, size: u64) -> AppResult<[u8; 32]> {
        let tree = self
            .nodes_for(company_id, |r| {
                doorstep_merkle::root_at(size, r).map(|_| ())
            })
            .await?;
        doorstep_merkle::root_at(size, &tree)
            .map_err(|e| AppError::Storage(format!("evidence log of company {company_id}: {e}")))
    }

    /// Signs a checkpoint of a company's log as it is now, unless the
    /// newest checkpoint already covers every record. Returns the newest.
    pub async fn checkpoint_now(&self, company_id: i64) -> AppResult<Option<StoredCheckpoint>> {
        let size = self.store.evidence_size(company_id).await?;
        let latest = self.store.latest_checkpoint(company_id).await?;
        if size == 0 || latest.as_ref().is_some_and(|c| c.size >= size) {
            return Ok(latest);
        }
        let root = self.log_root(company_id, size).await?;
        let (key, signer) = self.signer(company_id).await?;
        let note = Checkpoint {
            origin: origin(company_id),
            size,
            root,
        }
        .sign(&signer)
        .map_err(|e| AppError::Storage(e.to_string()))?;
        let c = StoredCheckpoint {
            company_id,
            size,
            root,
            note,
            signing_key_id: key.id,
            signed_at: now(),
        };
        self.store.add_checkpoint(&c).await?;
        Ok(self.store.latest_checkpoint(company_id).await?)
    }

    /// One pass of the checkpoint job: every log that grew gets a signed
    /// checkpoint. Runs under a job lease, one instance at a time.
    pub async fn run_checkpointer(&self, holder: &str) -> AppResult<usize> {
        if !self
            .store
            .claim_job(CHECKPOINT_JOB, holder, now(), 120)
            .await?
        {
            return Ok(0);
        }
        let mut n = 0;
        for (company, size) in self.store.evidence_logs().await? {
            let latest = self.store.latest_checkpoint(company).await?;
            if latest.is_none_or(|c| c.size < size) {
                self.checkpoint_now(company).await?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// The inclusion proof of record `index` against the newest checkpoint
    /// (signing one first if none covers the record yet).
    pub async fn evidence_proof(&self, company_id: i64, index: u64) -> AppResult<EvidenceProof> {
        let rec = self
            .store
            .evidence_record(company_id, index)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("evidence record #{index}")))?;
        let mut cp = self.store.latest_checkpoint(company_id).await?;
        if cp.as_ref().is_none_or(|c| c.size <= index) {
            cp = self.checkpoint_now(company_id).await?;
        }
        let cp = cp.ok_or_else(|| AppError::NotFound("checkpoint".into()))?;
        let tree = self
            .nodes_for(company_id, |r| {
                doorstep_merkle::inclusion_proof(index, cp.size, r).map(|_| ())
            })
            .await?;
        let path = doorstep_merkle::inclusion_proof(index, cp.size, &tree)
            .map_err(|e| AppError::Storage(e.to_string()))?;
        let leaf = doorstep_merkle::leaf_hash(&rec.data);
        let verified =
            doorstep_merkle::verify_inclusion(index, cp.size, &leaf, &path, &cp.root).is_ok();
        Ok(EvidenceProof {
            origin: origin(company_id),
            index,
            kind: rec.kind.clone(),
            record: String::from_utf8_lossy(&rec.data).into_owned(),
            leaf_hash: hex::encode(leaf),
            tree_size: cp.size,
            inclusion: path.iter().map(hex::encode).collect(),
            root: hex::encode(cp.root),
            checkpoint: cp.note.clone(),
            verified,
        })
    }

    /// The inclusion proof of record `index` of the user's company, if the
    /// record is about an estate in the user's scope ("not found"
    /// otherwise: the log is the company's, its records are the estates').
    pub async fn evidence_proof_for(&self, user: &User, index: u64) -> AppResult<EvidenceProof> {
        require(user, Permission::ReadBills)?;
        let rec = self
            .store
            .evidence_record(user.company_id, index)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("evidence record #{index}")))?;
        let in_scope = match rec.estate_id {
            _ if user.role == doorstep_domain::Role::Admin => true,
            Some(e) => user.estate_ids.contains(&e),
            None => false,
        };
        if !in_scope {
            return Err(AppError::NotFound(format!("evidence record #{index}")));
        }
        self.evidence_proof(user.company_id, index).await
    }

    /// A consistency proof between two tree sizes of a company's log.
    pub async fn consistency_proof(
        &self,
        company_id: i64,
        from_size: u64,
        to_size: u64,
    ) -> AppResult<ConsistencyProof> {
        let size = self.store.evidence_size(company_id).await?;
        if to_size > size {
            return Err(AppError::Conflict(format!(
                "the log has {size} records; no tree of size {to_size}"
            )));
        }
        let tree = self
            .nodes_for(company_id, |r| {
                doorstep_merkle::consistency_proof(from_size, to_size, r).map(|_| ())
            })
            .await?;
        let proof = doorstep_merkle::consistency_proof(from_size, to_size, &tree)
            .map_err(|e| AppError::Conflict(e.to_string()))?;
        Ok(ConsistencyProof {
            from_size,
            to_size,
            proof: proof.iter().map(hex::encode).collect(),
        })
    }

    /// The company's verifier keys (current and retired), C2SP form.
    pub async fn company_keys(&self, company_id: i64) -> AppResult<Vec<String>> {
        Ok(self
            .store
            .signing_keys(company_id)
            .await?
            .into_iter()
            .map(|k| k.vkey)
            .collect())
    }

    /// The newest checkpoint of the user's company (signing one if the log
    /// grew since).
    pub async fn checkpoint_for(&self, user: &User) -> AppResult<Option<StoredCheckpoint>> {
        require(user, Permission::ReadEstate)?;
        self.checkpoint_now(user.company_id).await
    }

    /// A dispute bundle (ZIP) with every record about the rooms/spaces of
    /// the owner holding `objects` in `estate_code`: records, proofs against
    /// one signed checkpoint, signature images, receipts, the keys and the
    /// procedure.
    pub async fn export_evidence(
        &self,
        user: &User,
        estate_code: &str,
        objects: &[(ObjectKind, i64)],
    ) -> AppResult<Vec<u8>> {
        let estate = self
            .estate_for(user, estate_code, Permission::ReadBills)
            .await?;
        if objects.is_empty() {
            return Err(doorstep_domain::DomainError::invalid(
                "objects",
                "name the rooms or parking spaces whose records to export",
            )
            .into());
        }
        // Scope: every object must be this estate's (the loader's WHERE).
        let labels = self.store.object_labels(estate.id, objects).await?;
        let company = estate.company_id;
        let records = self
            .store
            .evidence_about(company, objects, None, None)
            .await?;
        if records.is_empty() {
            return Err(AppError::NotFound(
                "evidence records for these rooms or spaces".into(),
            ));
        }
        let cp = self
            .checkpoint_now(company)
            .await?
            .ok_or_else(|| AppError::NotFound("checkpoint".into()))?;
        let mut out = Vec::new();
        let mut attachments = Vec::new();
        for rec in &records {
            let tree = self
                .nodes_for(company, |r| {
                    doorstep_merkle::inclusion_proof(rec.index, cp.size, r).map(|_| ())
                })
                .await?;
            let path = doorstep_merkle::inclusion_proof(rec.index, cp.size, &tree)
                .map_err(|e| AppError::Storage(e.to_string()))?;
            out.push(doorstep_evidence::bundle::BundleRecord {
                index: rec.index,
                bytes: rec.data.clone(),
                inclusion: path,
            });
            let v: serde_json::Value = serde_json::from_slice(&rec.data).unwrap_or_default();
            if rec.kind == "signature"
                && let Some(id) = v.get("signature").and_then(|x| x.as_i64())
                && let Ok((_, png)) = self.store.signature(id).await
            {
                attachments.push((format!("signature-{id}.png"), png));
            }
            if rec.kind == "payment"
                && let Some(p) = rec.payment_id
                && let Some(r) = self.store.receipt_of_payment(p).await?
                && let Some(note) = &r.note
            {
                let name = doorstep_receipt::number_display(r.number);
                let body = note.split("\n\n").next().unwrap_or("").to_string() + "\n";
                attachments.push((format!("receipt-{name}.txt"), body.into_bytes()));
                attachments.push((format!("receipt-{name}.note"), note.clone().into_bytes()));
                if let Ok(pdf) = self.receipt_pdf(&r, doorstep_receipt::Layout::A4).await {
                    attachments.push((format!("receipt-{name}.pdf"), pdf));
                }
            }
        }
        attachments.sort_by(|a, b| a.0.cmp(&b.0));
        attachments.dedup_by(|a, b| a.0 == b.0);
        let created = jiff::Timestamp::from_second(now())
            .map(|t| t.to_string())
            .unwrap_or_default();
        let origin = origin(company);
        let keys = self.company_keys(company).await?;
        let input = doorstep_evidence::bundle::BundleInput {
            origin: &origin,
            created_at: &created,
            subject: serde_json::json!({
                "estate": estate.name,
                "objects": labels,
                "exported_by": user.username,
            }),
            checkpoint_note: &cp.note,
            tree_size: cp.size,
            keys,
            records: out,
            attachments,
        };
        doorstep_evidence::bundle::write_bundle(&input)
            .map_err(|e| AppError::Storage(format!("evidence bundle: {e}")))
    }

    /// Audits a company's stored log: every record against its logged leaf
    /// hash, gaps, and every signed checkpoint's root recomputed from the
    /// records. Names the records found changed, missing or swapped.
    pub async fn audit_evidence(&self, company_id: i64) -> AppResult<AuditReport> {
        let size = self.store.evidence_size(company_id).await?;
        let checkpoints: Vec<doorstep_evidence::audit::StoredCheckpoint> = self
            .store
            .checkpoints(company_id)
            .await?
            .into_iter()
            .map(|c| doorstep_evidence::audit::StoredCheckpoint {
                size: c.size,
                root: c.root,
                note: c.note,
            })
            .collect();
        let verifiers: Vec<Verifier> = self
            .store
            .signing_keys(company_id)
            .await?
            .iter()
            .filter_map(|k| Verifier::from_key(&k.vkey).ok())
            .collect();
        // Read everything the audit needs, in chunks.
        let mut records = Vec::new();
        let mut leaves = std::collections::HashMap::new();
        let mut from = 0u64;
        loop {
            let chunk = self.store.evidence_records(company_id, from, 5000).await?;
            let Some(last) = chunk.last().map(|r| r.index) else {
                break;
            };
            from = last + 1;
            records.extend(
                chunk
                    .into_iter()
                    .map(|r| doorstep_evidence::audit::StoredRecord {
                        index: r.index,
                        bytes: r.data,
                    }),
            );
        }
        let mut i = 0u64;
        while i < size.max(from) {
            let want: Vec<(u8, u64)> = (i..(i + 200).min(size.max(from)))
                .map(|k| (0u8, k))
                .collect();
            for ((_, k), h) in self.store.merkle_nodes(company_id, &want).await? {
                leaves.insert(k, h);
            }
            i += 200;
        }
        let findings = doorstep_evidence::audit::audit(
            size,
            records,
            |k| leaves.get(&k).copied(),
            &checkpoints,
            &verifiers,
        );
        Ok(AuditReport {
            company_id,
            size,
            checkpoints: checkpoints.len(),
            findings: findings.iter().map(|f| f.to_string()).collect(),
        })
    }
}
