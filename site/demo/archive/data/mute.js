window.YTD.mute.part0 = [
  {
    "muting" : {
      "accountId" : "1700000000000000114",
      "userLink" : "https://twitter.com/intent/user?user_id=1700000000000000114"
    }
  }
]