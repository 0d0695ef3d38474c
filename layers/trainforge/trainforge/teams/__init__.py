"""Teams: who a caller is (a member, an administrator, or nobody Trainforge knows) and what each may see;
team definitions (``teams.json``, shared with the stack); budgets and instance limits that hold under
concurrency; a team's month of usage.
"""
