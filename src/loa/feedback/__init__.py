"""Citizens' feedback to their commune (Decree 49/2024/NĐ-CP): public form, officers' queue, answers."""
