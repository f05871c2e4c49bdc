window.YTD.following.part0 = [
  {
    "following" : {
      "accountId" : "1700000000000000101",
      "userLink" : "https://twitter.com/intent/user?user_id=1700000000000000101"
    }
  },
  {
    "following" : {
      "accountId" : "1700000000000000102",
      "userLink" : "https://twitter.com/intent/user?user_id=1700000000000000102"
    }
  },
  {
    "following" : {
      "accountId" : "1700000000000000103",
      "userLink" : "https://twitter.com/intent/user?user_id=1700000000000000103"
    }
  },
  {
    "following" : {
      "accountId" : "1700000000000000104",
      "userLink" : "https://twitter.com/intent/user?user_id=1700000000000000104"
    }
  },
  {
    "following" : {
      "accountId" : "1700000000000000105",
      "userLink" : "https://twitter.com/intent/user?user_id=1700000000000000105"
    }
  },
  {
    "following" : {
      "accountId" : "1700000000000000106",
      "userLink" : "https://twitter.com/intent/user?user_id=1700000000000000106"
    }
  },
  {
    "following" : {
      "accountId" : "1700000000000000107",
      "userLink" : "https://twitter.com/intent/user?user_id=1700000000000000107"
    }
  },
  {
    "following" : {
      "accountId" : "1700000000000000108",
      "userLink" : "https://twitter.com/intent/user?user_id=1700000000000000108"
    }
  },
  {
    "following" : {
      "accountId" : "1700000000000000109",
      "userLink" : "https://twitter.com/intent/user?user_id=1700000000000000109"
    }
  },
  {
    "following" : {
      "accountId" : "1700000000000000110",
      "userLink" : "https://twitter.com/intent/user?user_id=1700000000000000110"
    }
  }
]