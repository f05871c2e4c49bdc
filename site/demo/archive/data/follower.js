window.YTD.follower.part0 = [
  {
    "follower" : {
      "accountId" : "1700000000000000107",
      "userLink" : "https://twitter.com/intent/user?user_id=1700000000000000107"
    }
  },
  {
    "follower" : {
      "accountId" : "1700000000000000108",
      "userLink" : "https://twitter.com/intent/user?user_id=1700000000000000108"
    }
  },
  {
    "follower" : {
      "accountId" : "1700000000000000109",
      "userLink" : "https://twitter.com/intent/user?user_id=1700000000000000109"
    }
  },
  {
    "follower" : {
      "accountId" : "1700000000000000110",
      "userLink" : "https://twitter.com/intent/user?user_id=1700000000000000110"
    }
  },
  {
    "follower" : {
      "accountId" : "1700000000000000111",
      "userLink" : "https://twitter.com/intent/user?user_id=1700000000000000111"
    }
  },
  {
    "follower" : {
      "accountId" : "1700000000000000112",
      "userLink" : "https://twitter.com/intent/user?user_id=1700000000000000112"
    }
  },
  {
    "follower" : {
      "accountId" : "1700000000000000113",
      "userLink" : "https://twitter.com/intent/user?user_id=1700000000000000113"
    }
  }
]