//! Use cases that name one object of an estate by id. Each resolves the
//! estate once (company, estate scope, permission) and hands it to a store
//! call that looks for the object only inside it (`WHERE id = $1 AND
//! estate_id = $2`), so another estate's id is "not found", nothing changes,
//! and no handler has to compare estate ids itself.

use crate::{App, AppResult, now, today};
use doorstep_domain::{FeeItemSpec, Fen, Period, Permission};
use doorstep_store::{
    BillLine, Estate, FeeItem, Owner, OwnerInput, Room, RoomInput, Space, SpaceInput, StaffAct,
    User,
};

impl App {
    /// A fee item of any estate the user may see, with its estate (for
    /// routes that name only the item); "not found" for anyone else's.
    pub async fn fee_item_of_user(&self, user: &User, id: i64) -> AppResult<(Estate, FeeItem)> {
        crate::require(user, Permission::ReadEstate)?;
        let not_found = || crate::AppError::NotFound(format!("fee item {id}"));
        let estate_id = match self.store.fee_item_estate(id).await {
            Ok(e) => e,
            Err(doorstep_store::StoreError::NotFound(_)) => return Err(not_found()),
            Err(e) => return Err(e.into()),
        };
        let estate = self.store.estate_by_id(estate_id).await?;
        if !user.can_access(&estate) {
            return Err(not_found());
        }
        let item = self.store.fee_item(estate.id, id).await?;
        Ok((estate, item))
    }

    /// A room of the estate, with the estate.
    pub async fn room(&self, user: &User, code: &str, id: i64) -> AppResult<(Estate, Room)> {
        let e = self.estate_for(user, code, Permission::ReadEstate).await?;
        let room = self.store.room(e.id, id).await?;
        Ok((e, room))
    }

    /// A parking space of the estate, with the estate.
    pub async fn space(&self, user: &User, code: &str, id: i64) -> AppResult<(Estate, Space)> {
        let e = self.estate_for(user, code, Permission::ReadEstate).await?;
        let space = self.store.space(e.id, id).await?;
        Ok((e, space))
    }

    /// An owner of the estate, with the estate.
    pub async fn owner(&self, user: &User, code: &str, id: i64) -> AppResult<(Estate, Owner)> {
        let e = self.estate_for(user, code, Permission::ReadEstate).await?;
        let owner = self.store.owner(e.id, id).await?;
        Ok((e, owner))
    }

    /// Updates a room of the estate.
    pub async fn update_room(
        &self,
        user: &User,
        code: &str,
        id: i64,
        r: &RoomInput,
    ) -> AppResult<Room> {
        let e = self
            .estate_for(user, code, Permission::EditMasterData)
            .await?;
        Ok(self.store.update_room(e.id, id, r).await?)
    }

    /// Updates a parking space of the estate.
    pub async fn update_space(
        &self,
        user: &User,
        code: &str,
        id: i64,
        s: &SpaceInput,
    ) -> AppResult<Space> {
        let e = self
            .estate_for(user, code, Permission::EditMasterData)
            .await?;
        Ok(self.store.update_space(e.id, id, s).await?)
    }

    /// Replaces the name, phones and holdings of an owner of the estate
    /// (the rooms and spaces named must be the estate's too).
    pub async fn update_owner(
        &self,
        user: &User,
        code: &str,
        id: i64,
        o: &OwnerInput,
    ) -> AppResult<Owner> {
        let e = self
            .estate_for(user, code, Permission::EditMasterData)
            .await?;
        Ok(self.store.update_owner(e.id, id, o).await?)
    }

    /// Replaces the definition of a fee item of the estate.
    pub async fn update_fee_item(
        &self,
        user: &User,
        code: &str,
        id: i64,
        spec: &FeeItemSpec,
        active: bool,
    ) -> AppResult<FeeItem> {
        let e = self.estate_for(user, code, Permission::EditFees).await?;
        Ok(self.store.update_fee_item(e.id, id, spec, active).await?)
    }

    /// Enters amounts (room, amount) of an entered fee item for a period;
    /// the item and every room must be the estate's, or nothing is entered.
    pub async fn set_entered_amounts(
        &self,
        user: &User,
        code: &str,
        fee_item_id: i64,
        period: Period,
        amounts: &[(i64, Fen)],
    ) -> AppResult<u64> {
        let e = self.estate_for(user, code, Permission::EditFees).await?;
        Ok(self
            .store
            .set_entered_amounts(e.id, fee_item_id, period, amounts)
            .await?)
    }

    /// Waives the late fee of a bill line of the estate.
    pub async fn waive_late_fee(
        &self,
        user: &User,
        code: &str,
        line_id: i64,
        reason: &str,
    ) -> AppResult<BillLine> {
        let e = self.estate_for(user, code, Permission::Waive).await?;
        Ok(self
            .store
            .waive_late_fee(e.id, line_id, &act(user, reason))
            .await?)
    }

    /// Waives a whole bill line of the estate.
    pub async fn waive_line(
        &self,
        user: &User,
        code: &str,
        line_id: i64,
        reason: &str,
    ) -> AppResult<BillLine> {
        let e = self.estate_for(user, code, Permission::Waive).await?;
        Ok(self
            .store
            .waive_line(e.id, line_id, &act(user, reason))
            .await?)
    }

    /// Marks a bill line of the estate disputed from today, or clears it.
    pub async fn set_dispute(
        &self,
        user: &User,
        code: &str,
        line_id: i64,
        disputed: bool,
        reason: &str,
    ) -> AppResult<BillLine> {
        let e = self.estate_for(user, code, Permission::Waive).await?;
        Ok(self
            .store
            .set_dispute(e.id, line_id, disputed, today(&e), &act(user, reason))
            .await?)
    }
}

fn act(user: &User, reason: &str) -> StaffAct {
    StaffAct {
        user_id: user.id,
        reason: reason.to_string(),
        at: now(),
    }
}
